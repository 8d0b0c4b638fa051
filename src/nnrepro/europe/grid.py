"""The depth x width grid: collecting its cells, the course's seven configurations, best and worst, slices."""

from pathlib import Path

import pandas as pd

from nnrepro import io, selection
from nnrepro.cells import grid_cell
from nnrepro.errors import missing

SELECT_FROM = ("course", "grid")
COLUMNS = (
    "final_train_acc",
    "final_validation_acc",
    "final_test_acc",
    "final_train_loss",
    "final_validation_loss",
    "final_test_loss",
)


def collect(metrics_dir) -> pd.DataFrame:
    """One row per cell mlp_grid wrote (every metrics file in its folder, each naming its depth and width), by depth
    then width: the files are listed, never rebuilt from mlp_grid.depths/widths, which may have changed since."""
    files = sorted(Path(metrics_dir).glob("*.json")) if Path(metrics_dir).is_dir() else []
    if not files:
        raise missing(f"mlp_grid's cells in {metrics_dir}", "mlp_grid")
    rows = []
    for path in files:
        record = io.read_json(path)
        depth, width = int(record["depth"]), int(record["width"])
        rows.append(
            {
                "cell": grid_cell(depth, width),
                "depth": depth,
                "width": width,
                "diverged": bool(record.get("diverged")),
                **{k: record.get(k) for k in COLUMNS},
            }
        )
    table = pd.DataFrame(rows).sort_values(["depth", "width"], kind="stable").reset_index(drop=True)
    return table.astype({k: float for k in COLUMNS})


def nearest(values: list[int], target: int) -> int:
    return min(values, key=lambda v: (abs(v - target), v))


def course_cells(table: pd.DataFrame, depth: int, width: int) -> pd.DataFrame:
    """The course's configurations: every depth at `width` and every width at `depth` (its seven, by default)."""
    return table[(table["width"] == width) | (table["depth"] == depth)]


def select(table: pd.DataFrame, select_from: str, depth: int, width: int) -> tuple[str, str]:
    """Best and worst cell by final validation accuracy (ties: test accuracy), among the course's cells or all."""
    pool = course_cells(table, depth, width) if select_from == "course" else table
    chosen = selection.picks(pool.to_dict("records"), "final_validation_acc", "final_test_acc")
    return chosen["best"]["cell"], chosen["worst"]["cell"]


def summary(table: pd.DataFrame, best: str, worst: str) -> dict:
    cells = table.set_index("cell")
    result = {"best_cell": best, "worst_cell": worst}
    for rank, cell in (("best", best), ("worst", worst)):
        for key in COLUMNS:
            result[f"{rank}_{key.removeprefix('final_')}"] = io.finite_or_none(float(cells.loc[cell, key]))
    return result
