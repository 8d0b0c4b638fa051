"""The course report's claims, one module per report section, each claim a check over plain numbers judged over
seeds: holds, does not hold, or cannot be judged (within noise, collapsed, missing, one run). The sections are
imported in report order, which is the order claims register in."""

# isort: off
from nnrepro.report.claims import optimisation, batch, evaluation, gradients, cnn  # noqa: F401  (registers, in order)

# isort: on
from nnrepro.report.claims.core import CANNOT, FAILS, HOLDS, REASONS, REGISTRY, VERDICTS, shown_verdict  # noqa: F401  (re-exported)

CLAIMS = tuple(REGISTRY)


def check_all(facts: dict, previous: dict | None = None) -> list[dict]:
    """Every claim of the course report, in its order, judged on `facts` (docs/claims.md describes a claim);
    `previous`: {section block: {threshold: earlier value}} (thresholds.previous_values), each claim re-judged
    under the earlier values of the thresholds it reads."""
    views: dict = {}  # each seed's view of the facts, built once for all claims
    return [judge(facts, views, (previous or {}).get(judge.section_block)) for judge in CLAIMS]


def verdict_counts(results: list[dict]) -> dict:
    """{'holds': n, 'does not hold': n, 'cannot be judged': n} over check_all's results."""
    return {v: sum(1 for r in results if r["verdict"] == v) for v in VERDICTS}


def reason_counts(results: list[dict]) -> dict:
    """{'within noise': n, 'collapsed': n, 'missing': n, 'one run': n}: why the claims that cannot be judged cannot."""
    return {why: sum(1 for r in results if r["verdict"] == CANNOT and r["reason"] == why) for why in REASONS}
