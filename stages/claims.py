"""Stage claims: every analytic sentence of the course report checked against our results over the seeds (holds /
does not hold / cannot be judged: within noise, collapsed, missing or one run, with its 95% interval, margin and
minimum detectable effect), and the headline numbers; both are DVC metrics files."""

import logging
from pathlib import Path

from nnrepro import io
from nnrepro.errors import exit_on_user_error
from nnrepro.report import claims, headline, readback, thresholds

logger = logging.getLogger(__name__)

JUDGED = (  # what claims.json gives each claim, in this order, after its words (docs/claims.md)
    "sentence",
    "verdict",
    "reason",
    "undecided",
    "note",
    "effect",
    "noise",
    "interval",
    "margin",
    "margin_in_intervals",
    "seeds_counted",
    "seeds_above",
    "seed_effects",
    "min_detectable_effect",
    "threshold_sensitive",
)


def parse_args():
    parser = readback.parser(__doc__)
    readback.add_judging(parser)
    parser.add_argument("--thresholds", type=Path, required=True, help="reference/thresholds.yaml")
    parser.add_argument("--claims", type=Path, required=True, help="claims metrics JSON to write")
    parser.add_argument("--headline", type=Path, required=True, help="headline metrics JSON to write")
    return parser.parse_args()


def record(result: dict) -> dict:
    """A claim as its metrics entry: its words, verdict and the numbers it was judged on, then the check's own."""
    return {
        "claim": result["claim"],
        "section": result["section"],
        **{k: result[k] for k in JUDGED},
        "sensitive_to": ", ".join(result["sensitive_to"]),
        "verdict_with_previous": result["verdict_with_previous"],
        "holds": {claims.HOLDS: 1, claims.FAILS: 0}.get(result["verdict"]),
        "evidence": result["evidence"],
        **result["numbers"],
    }


@exit_on_user_error
def main() -> None:
    args = parse_args()
    previous = thresholds.previous_values(thresholds.load(args.thresholds))
    facts = readback.facts(readback.result_paths(args), readback.judging_paths(args))
    results = claims.check_all(facts, previous)
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
