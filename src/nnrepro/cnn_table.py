"""The CNN study's comparison: per-cell records, the best / second-best / worst learning rates, error grids."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
from nnrepro.errors import UserError
from nnrepro.io import atomic_path, read_json

SELECTED = ("best", "second_best", "worst")


def cell_name(baseline: str, lr: float) -> str:
    """Readable matrix-cell name, spelt as DVC spells `${item.lr}` (Python's str of the float)."""
    return f"{baseline}-{float(lr)}"


def accuracy(probabilities, labels) -> float:
    probabilities, labels = np.asarray(probabilities, dtype=float), np.asarray(labels)
    return float(((probabilities > 0.5).astype(int) == labels).mean())


def predictions_frame(data: dict, probabilities: dict) -> pd.DataFrame:
    """One row per val/test image: split, name, label, probability of 'fake', prediction."""
    frames = []
    for split, probs in probabilities.items():
        probs = np.asarray(probs, dtype=float)
        frames.append(pd.DataFrame({
            "split": split, "name": data[split]["names"], "label": np.asarray(data[split]["labels"]),
            "probability": np.round(probs, 6), "prediction": (probs > 0.5).astype(int),
        }))
    return pd.concat(frames, ignore_index=True)


def split_accuracies(frame: pd.DataFrame) -> dict:
    return {f"{split}_accuracy": accuracy(*_split(frame, split)) for split in ("val", "test")}


def cell_metrics(frame: pd.DataFrame, history: list) -> dict:
    losses = [row["train_loss"] for row in history]
    return {
        **split_accuracies(frame),
        "train_loss": losses[-1] if math.isfinite(losses[-1]) else None,
        "diverged": not all(math.isfinite(v) for v in losses) or bool(frame["probability"].isna().any()),
    }


def _split(frame: pd.DataFrame, split: str):
    rows = frame[frame["split"] == split]
    return rows["probability"].to_numpy(), rows["label"].to_numpy()


def collect(metrics_dir, predictions_dir, baselines, lrs) -> tuple[pd.DataFrame, dict]:
    """The metrics of every requested cell and their predictions; one-line error for an untrained cell."""
    rows, predictions = [], {}
    for baseline in baselines:
        for lr in lrs:
            name = cell_name(baseline, lr)
            metrics_path, pred_path = Path(metrics_dir) / f"{name}.json", Path(predictions_dir) / f"{name}.csv"
            for path in (metrics_path, pred_path):
                if not path.exists():
                    raise UserError(f"{path} is missing: cell {name} (cnn.lrs in params.yaml) was not trained, "
                                    "run `dvc repro` so that every cell runs first")
            record = read_json(metrics_path)
            rows.append({"cell": name, "baseline": baseline, "lr": float(lr),
                         "val_accuracy": record["val_accuracy"], "test_accuracy": record["test_accuracy"]})
            predictions[name] = read_predictions(pred_path)
    return pd.DataFrame(rows), predictions


def read_predictions(path) -> pd.DataFrame:
    if not Path(path).exists():
        raise UserError(f"{path} is missing: run `dvc repro` so that the stage writing it runs first")
    return pd.read_csv(path, keep_default_na=False)


def rank(cells: pd.DataFrame) -> pd.DataFrame:
    """Per baseline, its cells by validation accuracy (ties: test accuracy, then the order of cnn.lrs)."""
    cells = cells.assign(order=range(len(cells)))
    return cells.sort_values(["baseline", "val_accuracy", "test_accuracy", "order"],
                             ascending=[True, False, False, True], kind="stable")


def select(cells: pd.DataFrame) -> dict:
    """baseline -> {'best': row, 'second_best': row or None, 'worst': row} by validation accuracy."""
    chosen = {}
    for baseline, rows in rank(cells).groupby("baseline", sort=False):
        records = rows.to_dict("records")
        chosen[baseline] = {"best": records[0], "second_best": records[1] if len(records) > 2 else None,
                            "worst": records[-1]}
    return chosen


def summary(chosen: dict, xgb: dict) -> dict:
    """Flat JSON of the report's table: per baseline and rank its learning rate and accuracies."""
    flat = {}
    for baseline, picks in chosen.items():
        for rank_name, row in picks.items():
            if row is not None:
                for key in ("lr", "val_accuracy", "test_accuracy"):
                    flat[f"{baseline}_{rank_name}_{key}"] = row[key]
    flat["xgboost_val_accuracy"] = xgb["val_accuracy"]
    flat["xgboost_test_accuracy"] = xgb["test_accuracy"]
    return flat


def accuracy_by_lr(cells: pd.DataFrame, xgb: dict) -> pd.DataFrame:
    """Test accuracy per learning rate, one column per baseline, XGBoost as a constant reference column."""
    table = cells.pivot(index="lr", columns="baseline", values="test_accuracy").reset_index()
    return table.assign(xgboost=xgb["test_accuracy"]).sort_values("lr")


def ordered_baselines(chosen: dict) -> list:
    """CNN baselines from best to worst by their best cell's validation accuracy."""
    return sorted(chosen, key=lambda b: (-chosen[b]["best"]["val_accuracy"], -chosen[b]["best"]["test_accuracy"]))


def markdown(chosen: dict, xgb: dict) -> str:
    lines = ["| baseline | rank | learning rate | val accuracy | test accuracy |", "|---|---|---|---|---|"]
    for baseline in ordered_baselines(chosen):
        for rank_name, row in chosen[baseline].items():
            if row is not None:
                lines.append(f"| {baseline} | {rank_name.replace('_', ' ')} | {row['lr']:g} | "
                             f"{row['val_accuracy']:.3f} | {row['test_accuracy']:.3f} |")
    lines.append(f"| xgboost | - | - | {xgb['val_accuracy']:.3f} | {xgb['test_accuracy']:.3f} |")
    return "\n".join(lines) + "\n"


def wide_predictions(predictions: dict) -> pd.DataFrame:
    """All cells side by side: split, name, label, then one probability column per cell."""
    first = next(iter(predictions.values()))
    wide = first[["split", "name", "label"]].copy()
    for name, frame in predictions.items():
        wide[name] = frame["probability"].to_numpy()
    return wide


def misclassified_grid(path, frame: pd.DataFrame, cache: dict, title: str, limit: int = 48) -> int:
    """PNG grid of the model's misclassified test images with file names; returns how many it got wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    test = frame[frame["split"] == "test"]
    wrong = test[test["label"] != test["prediction"]]
    index = {name: i for i, name in enumerate(cache["test"]["names"])}
    shown = wrong.head(limit)
    cols = 8
    rows = max(1, math.ceil(len(shown) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.8 + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, row in zip(axes.flat, shown.itertuples()):
        ax.imshow(cache["test"]["images"][index[row.name]].permute(1, 2, 0).numpy())
        ax.set_title(f"{Path(row.name).name}\n{'fake' if row.label else 'real'}, p={row.probability:.2f}",
                     fontsize=6)
    more = f" (first {limit} shown)" if len(wrong) > limit else ""
    fig.suptitle(f"{title}: {len(wrong)} of {len(test)} test images misclassified{more}", fontsize=9)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return len(wrong)
