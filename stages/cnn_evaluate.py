"""Stage cnn_evaluate: every CNN cell and XGBoost side by side; per baseline the best, second-best and worst
learning rate; the best and worst baseline and their misclassified test images (one JSON the reporting side
reads), and test accuracy per learning rate for `dvc plots`."""

import argparse
import logging
from pathlib import Path

import pandas as pd

from nnrepro import io, replicates, selection
from nnrepro.cells import CNN_BASELINES, cnn_file
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


def cells_written(metrics_dir: Path, baseline: str) -> list[tuple[str, dict]]:
    """(cell name, metrics) of every cell the cnn stage wrote for `baseline`, lr descending: the files are listed,
    never rebuilt from cnn.lrs, which may have changed since the cells were trained."""
    folder = Path(metrics_dir) / baseline
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise missing(f"the {baseline} cells in {folder}", f"cnn_{baseline}")
    cells = [(path.stem, io.read_json(path)) for path in files]
    return sorted(cells, key=lambda cell: -float(cell[1]["lr"]))


def collect(metrics_dir: Path, predictions_dir: Path) -> tuple[list[dict], dict]:
    """Every written cell's accuracies and its misclassified test images; a cell without predictions is an error."""
    rows, wrong = [], {}
    for baseline in CNN_BASELINES:
        for name, record in cells_written(metrics_dir, baseline):
            predictions_path = cnn_file(predictions_dir, baseline, name, ".csv")
            if not predictions_path.exists():
                raise missing(f"{predictions_path} (cell {name})", f"cnn_{baseline}")
            rows.append({"cell": name, "baseline": baseline, "lr": record["lr"], **scores(record)})
            if record.get("replicates"):  # a cell over replicates: its mean above, each replicate's here, in order
                reps = record["replicates"]
                rows[-1]["replicates"] = [scores(reps[k]) for k in sorted(reps, key=lambda k: replicates.index(k))]
            wrong[name] = predictions.misclassified(predictions.read(predictions_path))
    return rows, wrong


@exit_on_user_error
def main() -> None:
    args = parse_args()
    rows, wrong = collect(*args.cells)
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
