"""A run over replicates: replicate k (rep<k>) trains from seed replicates.first + k, and the replicates are written
beside their mean (MLP runs and CNN cells alike).

The mean is strict: a mean value exists only where every replicate has a finite value. A replicate that diverged
(its loss no longer finite, its history ended early) makes every later mean row NaN and `diverged`, rather than the
mean of the replicates left: averaging n - 1 losses beside n accuracies would draw a curve no run followed, and a
summary read where the shortest history ended would not be the end of the run."""

import math
from typing import Any

import numpy as np

REPLICATE = "rep{}"  # replicate k of a run trains from seed replicates.first + k: rep0, rep1, ...


def index(name: str) -> int:
    """k of a replicate's name rep<k>."""
    return int(name[len(REPLICATE.format("")) :])


def seeds_of(first: int, count: int) -> list[int]:
    """The seeds of a run's replicates: first, first + 1, ..."""
    return [first + k for k in range(count)]


def _strict_mean(values: list) -> float:
    """The mean where every value is a finite number, else NaN (a missing or non-finite value is not skipped)."""
    if not values or any(v is None or isinstance(v, bool) or not math.isfinite(v) for v in values):
        return math.nan
    return float(np.mean(values))


def _keys(rows) -> list[str]:
    """The value keys of `rows` (every key but epoch and diverged), in first-seen order."""
    return list(dict.fromkeys(key for r in rows for key in r if key not in ("epoch", "diverged")))


def mean_row(group: list[dict | None]) -> dict:
    """One evaluation's mean over replicates: `group` holds each replicate's row at that epoch, None where it has
    none (it ended earlier). Each value is the strict mean (NaN unless every replicate has it, finite);
    `diverged` where any replicate diverged or has no row."""
    present = [r for r in group if r is not None]
    epochs = {r["epoch"] for r in present}
    if len(epochs) != 1:
        raise ValueError(f"a mean row needs one epoch, got {sorted(epochs)}")
    diverged = len(present) < len(group) or any(r.get("diverged", False) for r in present)
    row = {"epoch": present[0]["epoch"], "diverged": diverged}
    row.update({key: _strict_mean([r.get(key) if r else None for r in group]) for key in _keys(present)})
    return row


def mean_history(histories: list[list[dict]]) -> list[dict]:
    """The replicates' mean history: one row per epoch any replicate evaluated (the longest history's and any
    mid-epoch row where a replicate diverged), in order; each row mean_row over the replicates that have it."""
    epochs = sorted({r["epoch"] for history in histories for r in history})
    at = [{r["epoch"]: r for r in history} for history in histories]
    return [mean_row([rows.get(epoch) for rows in at]) for epoch in epochs]


def mean_summary(summaries: list[dict]) -> dict:
    """The replicates' summaries in one: numbers the strict mean (None unless every replicate's is finite), flags
    true where any replicate's is, other values the first replicate's."""
    mean: dict[str, Any] = {}
    for key, first in summaries[0].items():
        values = [s.get(key) for s in summaries]
        if isinstance(first, bool):
            mean[key] = any(values)
        elif first is None or isinstance(first, (int, float)):
            average = _strict_mean(values)
            mean[key] = None if math.isnan(average) else average
        else:
            mean[key] = first
    return mean


def live_means(logs: list, per_run: int):
    """report(k, row) for replicate k's rows, in order: run k // per_run's mean rows (mean_row, as mean_history
    gives them) go to its log (io.LiveHistory) as soon as they are known, so the live history is the mean history,
    row by row: at once for replicates trained together, during the last one for replicates trained one by one.

    A row is known when every replicate of the run has reported a row at or past its epoch, or has ended (its
    last row diverged)."""
    waiting: list[list[dict]] = [[] for _ in range(len(logs) * per_run)]
    ended = [False] * len(waiting)

    def report(k: int, row: dict) -> None:
        waiting[k].append(row)
        ended[k] = bool(row.get("diverged"))
        run = k // per_run
        members = range(run * per_run, (run + 1) * per_run)
        while any(waiting[m] for m in members) and all(waiting[m] or ended[m] for m in members):
            epoch = min(waiting[m][0]["epoch"] for m in members if waiting[m])
            group = [waiting[m].pop(0) if waiting[m] and waiting[m][0]["epoch"] == epoch else None for m in members]
            logs[run].log(mean_row(group))

    return report
