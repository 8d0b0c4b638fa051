"""Stage figures: every figure of the report, drawn from the tracked metrics and histories (never retrains)."""

import argparse
from pathlib import Path

from nnrepro import faces, figures, params, results
from nnrepro.errors import exit_on_user_error


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    two = {"type": Path, "nargs": 2, "required": True}
    parser.add_argument("--mlp-lr", **two, metavar=("METRICS_DIR", "LIVE_DIR"))
    parser.add_argument("--mlp-long", **two, metavar=("METRICS", "LIVE_DIR"))
    parser.add_argument("--mlp-batch", **{**two, "nargs": 3}, metavar=("METRICS", "LIVE_DIR", "TIMINGS"))
    parser.add_argument("--evaluate", **two, metavar=("METRICS", "FOLDER"))
    parser.add_argument("--grad-probe", type=Path, required=True, metavar="LIVE_DIR")
    parser.add_argument("--mlp-sine", **two, metavar=("METRICS", "FOLDER"))
    parser.add_argument("--europe", **two, metavar=("OUTLINES", "TEST_CSV"))
    parser.add_argument("--cnn", **two, metavar=("METRICS_DIR", "XGBOOST_METRICS"))
    parser.add_argument("--faces", type=Path, required=True, metavar="CACHE")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    return parser.parse_args()


@exit_on_user_error
def main() -> None:
    args = parse_args()
    config = params.load()
    dpi = params.integer(params.get(config, "figures.dpi"), "figures.dpi", 20)
    data = {
        "lr_sweep": results.lr_sweep(*args.mlp_lr, config),
        "long": results.named_runs(*args.mlp_long),
        "batch": results.batch_pairs(*args.mlp_batch),
        "evaluation": results.evaluation(*args.evaluate, boundaries=True),
        "gradients": results.gradient_norms(args.grad_probe),
        "sine": results.sine_boundaries(*args.mlp_sine),
        "europe": results.europe_test(*args.europe),
        "cnn": results.cnn_cells(*args.cnn, config),
        "faces": faces.load_cache(args.faces)["test"],
    }
    drawn = figures.render_all(data, args.out, dpi)
    print(f"figures: {len(drawn)} PNGs in {args.out}")


if __name__ == "__main__":
    main()
