"""Stage report: reports/report.md and a self-contained reports/report.html, with every claim checked."""

import argparse
from pathlib import Path

import pandas as pd

from nnrepro import claims, params, report, results
from nnrepro.errors import exit_on_user_error


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    two = {"type": Path, "nargs": 2, "required": True}
    parser.add_argument("--mlp-lr", **two, metavar=("METRICS_DIR", "LIVE_DIR"))
    parser.add_argument("--mlp-long", **two, metavar=("METRICS", "LIVE_DIR"))
    parser.add_argument("--mlp-batch", **two, metavar=("METRICS", "TIMINGS"))
    parser.add_argument("--evaluate", **two, metavar=("METRICS", "FOLDER"))
    parser.add_argument("--grad-probe", **two, metavar=("METRICS", "LIVE_DIR"))
    parser.add_argument("--mlp-sine", type=Path, required=True, metavar="METRICS")
    parser.add_argument("--cnn", **two, metavar=("METRICS_DIR", "XGBOOST_METRICS"))
    parser.add_argument("--cnn-evaluate", type=Path, nargs=4, required=True,
                        metavar=("TABLE", "PREDICTIONS", "GRID_BEST", "GRID_WORST"))
    parser.add_argument("--figures", type=Path, required=True, help="the figures stage's PNG folder")
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--html", type=Path, required=True)
    return parser.parse_args()


@exit_on_user_error
def main() -> None:
    args = parse_args()
    config, params_text = params.load(), Path("params.yaml").read_text()
    table, predictions, *grids = args.cnn_evaluate
    data = {
        "lr_sweep": results.lr_sweep(*args.mlp_lr, config),
        "long": results.named_runs(*args.mlp_long),
        "batch": results.batch_pairs(args.mlp_batch[0], None, args.mlp_batch[1], histories=False),
        "evaluation": results.evaluation(*args.evaluate),
        "gradients": results.gradient_norms(args.grad_probe[1]),
        "grad_depth": params.integer(params.get(config, "grad_probe.depth"), "grad_probe.depth"),
        "sine": results.named_runs(args.mlp_sine, None, histories=False),
        "cnn": results.cnn_cells(*args.cnn, config),
        "cnn_table": table.read_text(), "predictions": pd.read_csv(predictions), "grids": grids,
        "figures": args.figures, "params": config, "params_text": params_text,
        "provenance": results.provenance(args.mlp_lr[0], args.mlp_long[0], args.mlp_batch[0], args.evaluate[0],
                                         args.grad_probe[0], args.mlp_sine, args.cnn[0], args.cnn[1]),
    }
    checked = claims.check_all(data)
    report.write(data, checked, args.markdown, args.html)
    for claim in checked:
        print(f"report: {report.verdict(claim):>13}: {claim['claim']}")


if __name__ == "__main__":
    main()
