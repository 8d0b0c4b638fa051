"""Stage cnn_evaluate: every CNN cell and XGBoost side by side; per baseline the best, second-best and worst
learning rate; the best and worst baseline and their misclassified test images (one JSON the reporting side
reads), and test accuracy per learning rate for `dvc plots`."""

import argparse
import logging
from pathlib import Path

import pandas as pd

from nnrepro import io, params, replicates, selection
from nnrepro.cells import CNN_BASELINES, cnn_cell, cnn_file
from nnrepro.errors import exit_on_user_error, missing
from nnrepro.faces import predictions

logger = logging.getLogger(__name__)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cells",
        type=Path,
        nargs=2,
        required=True,
        metavar=("METRICS", "PREDICTIONS"),
        help="the CNN cells' metrics and predictions folders (a subfolder per baseline)",
    )
    parser.add_argument("--xgboost", type=Path, required=True, help="XGBoost's metrics JSON")
    parser.add_argument("--selection", type=Path, required=True, help="the selection JSON to write")
    parser.add_argument("--by-lr", type=Path, required=True, help="test accuracy per learning rate CSV to write")
    return parser.parse_args()


def scores(record: dict) -> dict:
    return {
        "diverged": bool(record.get("diverged")),
        "validation_acc": record.get("validation_acc"),
        "test_acc": record.get("test_acc"),
    }


def collect(metrics_dir: Path, predictions_dir: Path, lrs: list) -> tuple[list[dict], dict]:
    """Every requested cell's accuracies and its misclassified test images; an untrained cell is an error."""
    rows, wrong = [], {}
    for baseline in CNN_BASELINES:
        for lr in lrs:
            name = cnn_cell(baseline, lr)
            metrics_path = cnn_file(metrics_dir, baseline, name, ".json")
            predictions_path = cnn_file(predictions_dir, baseline, name, ".csv")
            for path in (metrics_path, predictions_path):
                if not path.exists():
                    raise missing(f"{path} (cell {name} of cnn.lrs)", "every cell")
            record = io.read_json(metrics_path)
            rows.append({"cell": name, "baseline": baseline, "lr": lr, **scores(record)})
            if record.get("replicates"):  # a cell over seeds: its mean above, each seed's here, in order
                reps = record["replicates"]
                rows[-1]["replicates"] = [scores(reps[k]) for k in sorted(reps, key=lambda k: replicates.index(k))]
            wrong[name] = predictions.misclassified(predictions.read(predictions_path))
    return rows, wrong


@exit_on_user_error
def main() -> None:
    args = parse_args()
    rows, wrong = collect(*args.cells, params.load().items("cnn.lrs", params.positive))
    xgb = io.read_json(args.xgboost)
    chosen = selection.cnn(rows, {"validation_acc": xgb["validation_acc"], "test_acc": xgb["test_acc"]}, wrong)
    io.write_json(args.selection, chosen)
    by_lr = pd.DataFrame(rows).pivot(index="lr", columns="baseline", values="test_acc")
    io.write_csv(args.by_lr, by_lr.reset_index().assign(xgboost=xgb["test_acc"]).sort_values("lr"))
    for baseline in chosen["baseline_order"]:
        picks = chosen["baselines"][baseline]
        logger.info(
            f"cnn_evaluate: {baseline}: best {picks['best']['cell']} (test acc {picks['best']['test_acc']}), "
            f"worst {picks['worst']['cell']}"
        )


if __name__ == "__main__":
    main()
