"""The course report's claims, one module per report section, each claim a check over plain numbers: holds, does
not hold, or cannot be judged. The sections are imported in report order, which is the order claims register in."""

from nnrepro.report.claims import optimisation, evaluation, gradients, cnn  # noqa: F401  (registers, in order)
from nnrepro.report.claims.core import CANNOT, FAILS, HOLDS, REGISTRY, VERDICTS

CLAIMS = tuple(REGISTRY)


def check_all(facts: dict) -> list[dict]:
    """Every claim of the course report, in its order, judged on `facts` (structure: see the project README)."""
    return [judge(facts) for judge in CLAIMS]


def verdict_counts(results: list[dict]) -> dict:
    """{'holds': n, 'does not hold': n, 'cannot be judged': n} over check_all's results."""
    return {v: sum(1 for r in results if r["verdict"] == v) for v in VERDICTS}
