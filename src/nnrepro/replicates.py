"""A run over seeds: its replicates train from seed, seed + 1, ... and are written beside their mean (MLP runs and
CNN cells alike)."""

import math
from typing import Any

import numpy as np

REPLICATE = "rep{}"  # replicate k of a run trains from seed + k: rep0, rep1, ...


def index(name: str) -> int:
    """k of a replicate's name rep<k>."""
    return int(name[len(REPLICATE.format("")) :])


def seeds_of(seed: int, count: int) -> list[int]:
    """The seeds of a run's replicates: seed, seed + 1, ..."""
    return [seed + k for k in range(count)]


def _mean(values: list):
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def mean_history(histories: list[list[dict]]) -> list[dict]:
    """Row by row over the evaluations every replicate has: each value the mean of the replicates' finite values,
    `diverged` where any replicate diverged."""
    rows = []
    for group in zip(*histories):
        row = {"epoch": group[0]["epoch"], "diverged": any(r.get("diverged", False) for r in group)}
        row.update({key: _mean([r.get(key) for r in group]) for key in group[0] if key not in row})
        rows.append(row)
    return rows


def mean_summary(summaries: list[dict]) -> dict:
    """The replicates' summaries in one: numbers averaged over the finite ones (None where none is), flags true
    where any replicate's is, other values the first replicate's."""
    mean: dict[str, Any] = {}
    for key, first in summaries[0].items():
        values = [s.get(key) for s in summaries]
        if isinstance(first, bool):
            mean[key] = any(values)
        elif first is None or isinstance(first, (int, float)):
            average = _mean(values)
            mean[key] = None if math.isnan(average) else average
        else:
            mean[key] = first
    return mean


def live_means(logs: list, per_run: int):
    """report(k, row) for replicate k's rows, in order: run k // per_run's mean row (mean_history) goes to its log
    (io.LiveHistory) once every replicate of the run has that row, so the live history is the mean history, row
    by row: at once for replicates trained together, during the last one for replicates trained one by one."""
    waiting: list[list[dict]] = [[] for _ in range(len(logs) * per_run)]

    def report(k: int, row: dict) -> None:
        waiting[k].append(row)
        run = k // per_run
        group = waiting[run * per_run : (run + 1) * per_run]
        if all(group):
            logs[run].log(mean_history([[rows.pop(0)] for rows in group])[0])

    return report
