"""Stage figures: every figure of the report, drawn from the tracked results (never retrains)."""

import logging
from pathlib import Path

from nnrepro import params
from nnrepro.errors import exit_on_user_error
from nnrepro.report import figures, readback

logger = logging.getLogger(__name__)


def parse_args():
    parser = readback.parser(__doc__)
    two = {"type": Path, "nargs": 2, "required": True}
    parser.add_argument("--mlp-sine", **two, metavar=("METRICS", "FOLDER"))
    parser.add_argument("--europe", **two, metavar=("OUTLINES", "TEST_CSV"))
    parser.add_argument("--faces", type=Path, required=True, metavar="CACHE")
    parser.add_argument("--grid-metrics", type=Path, required=True, metavar="DIR", help="each grid cell's replicates")
    parser.add_argument("--claims", type=Path, required=True, metavar="JSON", help="the claims stage's verdicts")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    return parser.parse_args()


@exit_on_user_error
def main() -> None:
    args = parse_args()
    config = params.load()
    dpi = config.integer("figures.dpi", 20)
    sine_metrics, sine_folder = args.mlp_sine
    facts = readback.facts(readback.result_paths(args))
    readback.grid_replicates(facts["grid"]["cells"], args.grid_metrics)  # the seeds' band on Figs. 11 and 12
    data = {
        "facts": facts,
        "boundaries": {
            name: readback.boundary(folder / f"{name}_boundary.npz")
            for folder, names in ((args.evaluate[1], ("best", "worst")), (sine_folder, ("xy", "sine")))
            for name in names
        },
        "sine": readback.read_json(sine_metrics),
        "europe": readback.europe(*args.europe),
        "faces": readback.images(args.faces)["test"],
        "claims": readback.read_json(args.claims),
    }
    drawn = figures.render_all(data, args.out, dpi)
    logger.info(f"figures: {len(drawn)} PNGs in {args.out}")


if __name__ == "__main__":
    main()
