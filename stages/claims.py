"""Stage claims: every analytic sentence of the course report checked against our results over the seeds (holds /
does not hold / cannot be judged: within noise, collapsed or missing, with its effect and noise), and the headline
numbers; both are DVC metrics files."""

import logging
from pathlib import Path

from nnrepro import io
from nnrepro.errors import exit_on_user_error
from nnrepro.report import claims, headline, readback

logger = logging.getLogger(__name__)

TIMING_NOTE = "wall-clock evidence: see reports/timings.md"


def parse_args():
    parser = readback.parser(__doc__)
    readback.add_judging(parser)
    parser.add_argument("--claims", type=Path, required=True, help="claims metrics JSON to write")
    parser.add_argument("--headline", type=Path, required=True, help="headline metrics JSON to write")
    return parser.parse_args()


MEASURED = ("seeds_holding", "effect", "noise", "threshold_sensitive", "sensitive_to")  # numbers a timing claim hides


def record(result: dict) -> dict:
    """A claim as its metrics entry; wall-clock numbers stay out (a timing claim keeps its verdict only), so the file
    compares byte for byte across reruns."""
    keys = ("sentence", "verdict", "reason", "note", "seeds_holding", "effect", "noise", "threshold_sensitive")
    entry = {
        "claim": result["claim"],
        "section": result["section"],
        **{k: result[k] for k in keys},
        "sensitive_to": ", ".join(result["sensitive_to"]),
        "holds": {claims.HOLDS: 1, claims.FAILS: 0}.get(result["verdict"]),
        "evidence": TIMING_NOTE if result["timing"] else result["evidence"],
        **result["numbers"],
    }
    return {**entry, **{k: None for k in MEASURED}} if result["timing"] else entry


@exit_on_user_error
def main() -> None:
    args = parse_args()
    facts = readback.facts(readback.result_paths(args), readback.judging_paths(args))
    results = claims.check_all(facts)
    counts = claims.verdict_counts(results)
    io.write_json(args.claims, {r["id"]: record(r) for r in results}, sort_keys=False)  # the report's order
    io.write_json(args.headline, headline.headline(facts, counts, claims.reason_counts(results)))
    for r in results:
        logger.info(f"claims: {claims.shown_verdict(r):>16}: {r['claim']}")
    logger.info(
        f"claims: {counts[claims.HOLDS]} of {len(results)} hold, {counts[claims.FAILS]} do not, "
        f"{counts[claims.CANNOT]} cannot be judged"
    )


if __name__ == "__main__":
    main()
