"""The depth x width grid: cell names, collecting its metrics, best and worst cells, slices."""

from pathlib import Path

import numpy as np
import pandas as pd

from nnrepro import io, params
from nnrepro.errors import UserError


def cell_name(depth: int, width: int) -> str:
    return f"d{depth}-w{width}"


def axes(config: dict) -> tuple[list[int], list[int]]:
    """The validated depth and width lists of params.yaml."""
    depths = params.nonempty_list(params.get(config, "mlp_grid.depths"), "mlp_grid.depths")
    widths = params.nonempty_list(params.get(config, "mlp_grid.widths"), "mlp_grid.widths")
    return ([params.integer(d, "mlp_grid.depths") for d in depths],
            [params.integer(w, "mlp_grid.widths") for w in widths])


def collect(metrics_dir, depths: list[int], widths: list[int]) -> pd.DataFrame:
    """One row per cell from its metrics file; a requested cell that was not trained is an error."""
    rows = []
    for depth in depths:
        for width in widths:
            path = Path(metrics_dir) / f"{cell_name(depth, width)}.json"
            if not path.exists():
                raise UserError(
                    f"grid cell {cell_name(depth, width)} is in mlp_grid.depths/widths but {path} does not "
                    "exist: run `dvc repro` so that mlp_grid trains it"
                )
            rows.append({"cell": cell_name(depth, width), **io.read_json(path)})
    table = pd.DataFrame(rows).drop(columns=["provenance"], errors="ignore")
    return table.astype({"final_validation_acc": float, "final_test_acc": float})


def best_and_worst(table: pd.DataFrame) -> tuple[str, str]:
    """Cells with the highest and lowest final validation accuracy (a diverged cell ranks lowest)."""
    score = table["final_validation_acc"].fillna(-1.0)
    return table.loc[score.idxmax(), "cell"], table.loc[score.idxmin(), "cell"]


def nearest(values: list[int], target: int) -> int:
    return min(values, key=lambda v: (abs(v - target), v))


def pivot(table: pd.DataFrame, column: str) -> tuple[np.ndarray, list[int], list[int]]:
    square = table.pivot(index="depth", columns="width", values=column)
    return square.to_numpy(dtype=float), list(square.index), list(square.columns)


def summary(table: pd.DataFrame, best: str, worst: str) -> dict:
    cells = table.set_index("cell")
    result = {"best_cell": best, "worst_cell": worst}
    for rank, cell in (("best", best), ("worst", worst)):
        for key in ("validation_acc", "test_acc", "validation_loss", "test_loss"):
            result[f"{rank}_{key}"] = io.finite_or_none(float(cells.loc[cell, f"final_{key}"]))
    return result
