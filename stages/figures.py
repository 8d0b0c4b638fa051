"""Stage figures: every figure of the report, drawn from the tracked results (never retrains)."""

import argparse
from pathlib import Path

from nnrepro import figures, params, readback
from nnrepro.errors import exit_on_user_error


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    two = {"type": Path, "nargs": 2, "required": True}
    parser.add_argument("--mlp-lr", **two, metavar=("METRICS_DIR", "LIVE_DIR"))
    parser.add_argument("--mlp-long", **two, metavar=("METRICS", "LIVE_DIR"))
    parser.add_argument("--mlp-batch", **two, metavar=("METRICS", "LIVE_DIR"))
    parser.add_argument("--evaluate", **two, metavar=("METRICS", "FOLDER"))
    parser.add_argument("--grad-probe", type=Path, required=True, metavar="FOLDER")
    parser.add_argument("--cnn-selection", type=Path, required=True, metavar="JSON")
    parser.add_argument("--mlp-sine", **two, metavar=("METRICS", "FOLDER"))
    parser.add_argument("--europe", **two, metavar=("OUTLINES", "TEST_CSV"))
    parser.add_argument("--faces", type=Path, required=True, metavar="CACHE")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    return parser.parse_args()


@exit_on_user_error
def main() -> None:
    args = parse_args()
    config = params.load()
    dpi = config.integer("figures.dpi", 20)
    paths = {name: getattr(args, name) for name in ("mlp_lr", "mlp_long", "mlp_batch", "evaluate", "grad_probe",
                                                      "cnn_selection")}
    sine_metrics, sine_folder = args.mlp_sine
    data = {
        "facts": readback.facts(paths, config),
        "boundaries": {name: readback.boundary(folder / f"{name}_boundary.npz")
                       for folder, names in ((args.evaluate[1], ("best", "worst")), (sine_folder, ("xy", "sine")))
                       for name in names},
        "sine": readback.read_json(sine_metrics),
        "europe": readback.europe(*args.europe),
        "faces": readback.images(args.faces)["test"],
    }
    drawn = figures.render_all(data, args.out, dpi)
    print(f"figures: {len(drawn)} PNGs in {args.out}")


if __name__ == "__main__":
    main()
