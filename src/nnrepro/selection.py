"""Choosing models by validation accuracy: the one ranking of cells, used by the evaluate and cnn_evaluate stages,
the claims and the headline alike."""

import math


def _score(row: dict, key: str) -> float:
    value = row.get(key)
    if isinstance(value, (int, float)) and math.isfinite(value) and not row.get("diverged"):
        return value
    return -math.inf


def rank(rows: list[dict], score: str, tie: str) -> list[dict]:
    """Best first by `score` (ties: `tie`, then the given order); a diverged row, or a missing or non-finite score,
    ranks last."""
    order = sorted(range(len(rows)), key=lambda i: (-_score(rows[i], score), -_score(rows[i], tie), i))
    return [rows[i] for i in order]


def best(rows: list[dict], score: str = "validation_acc", tie: str = "test_acc") -> dict:
    """The first of rank(): how the course chose a model (validation accuracy, test accuracy breaking ties)."""
    return rank(rows, score, tie)[0]


def picks(rows: list[dict], score: str, tie: str) -> dict:
    """{'best', 'second_best', 'worst'} of `rows` (second best only when there are three or more)."""
    ranked = rank(rows, score, tie)
    return {"best": ranked[0], "second_best": ranked[1] if len(ranked) > 2 else None, "worst": ranked[-1]}


def cnn(cells: list[dict], xgboost: dict, misclassified: dict) -> dict:
    """The CNN study's selection: per baseline its best, second-best and worst cell; the best and worst baseline
    by their best cell (as the course chose them); the misclassified test images of those two cells.

    `misclassified`: cell name -> list of wrong test images (predictions.misclassified).
    """
    baselines = list(dict.fromkeys(row["baseline"] for row in cells))
    per_baseline = {b: picks([r for r in cells if r["baseline"] == b], "validation_acc", "test_acc") for b in baselines}
    order = [
        row["baseline"] for row in rank([per_baseline[b]["best"] for b in baselines], "validation_acc", "test_acc")
    ]
    chosen = {rank_name: per_baseline[b]["best"]["cell"] for rank_name, b in (("best", order[0]), ("worst", order[-1]))}
    return {
        "cells": cells,
        "xgboost": xgboost,
        "baselines": per_baseline,
        "baseline_order": order,
        "misclassified": {
            rank_name: {"cell": cell, "images": misclassified[cell]} for rank_name, cell in chosen.items()
        },
    }
