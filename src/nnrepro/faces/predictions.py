"""Per-image predictions of a real-vs-generated classifier (a CNN cell or XGBoost) and their accuracy."""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from nnrepro.errors import missing

SCORED = ("validation", "test")


def accuracy(probabilities, labels) -> float:
    probabilities, labels = np.asarray(probabilities, dtype=float), np.asarray(labels)
    return float(((probabilities > 0.5).astype(int) == labels).mean())


def frame(data: dict, probabilities: dict) -> pd.DataFrame:
    """One row per scored image: split, name, label, probability of 'fake', prediction."""
    frames = []
    for split, probs in probabilities.items():
        probs = np.asarray(probs, dtype=float)
        frames.append(
            pd.DataFrame(
                {
                    "split": split,
                    "name": data[split]["names"],
                    "label": np.asarray(data[split]["labels"]),
                    "probability": np.round(probs, 6),
                    "prediction": (probs > 0.5).astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def split_accuracies(predictions: pd.DataFrame) -> dict:
    """validation_acc and test_acc; null for a split whose probabilities are not finite (a diverged model)."""
    result = {}
    for split in SCORED:
        rows = predictions[predictions["split"] == split]
        finite = bool(np.isfinite(rows["probability"].to_numpy(float)).all())
        result[f"{split}_acc"] = accuracy(rows["probability"], rows["label"]) if finite else None
    return result


def cell_metrics(predictions: pd.DataFrame, history: list) -> dict:
    """A replicate's accuracies, last train loss, `diverged`, and `one_class`: every validation image given one class
    (with an accuracy at the class share, the replicate collapsed)."""
    losses = [row["train_loss"] for row in history]
    diverged = not all(math.isfinite(v) for v in losses) or bool(predictions["probability"].isna().any())
    return {
        **split_accuracies(predictions),
        "final_train_loss": losses[-1] if math.isfinite(losses[-1]) else None,
        "diverged": diverged,
        "one_class": bool(predictions.loc[predictions["split"] == "validation", "prediction"].nunique() == 1),
    }


def read(path) -> pd.DataFrame:
    if not Path(path).exists():
        raise missing(path)
    return pd.read_csv(path, keep_default_na=False)


def misclassified(predictions: pd.DataFrame, split: str = "test") -> list[dict]:
    """The images of `split` the model gets wrong: name, label, probability of 'fake'."""
    rows = predictions[(predictions["split"] == split) & (predictions["label"] != predictions["prediction"])]
    return [
        {"name": n, "label": int(y), "probability": float(p)}
        for n, y, p in zip(rows["name"], rows["label"], rows["probability"])
    ]
