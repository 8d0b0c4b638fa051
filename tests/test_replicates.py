"""The mean over a run's replicates: strict where a replicate diverged, never cut at the shortest history."""

import math

import pytest

from nnrepro.replicates import live_means, mean_history, mean_row, mean_summary, seeds_of


def row(epoch: float, loss: float, acc: float = 0.5) -> dict:
    return {
        "epoch": float(epoch),
        "train_loss": loss,
        "validation_acc": acc,
        "diverged": not math.isfinite(loss),
    }


LIVE = [row(1, 2.0, 0.4), row(2, 1.5, 0.5), row(3, 1.2, 0.6)]
OTHER = [row(1, 2.2, 0.3), row(2, 1.7, 0.4), row(3, 1.0, 0.8)]
DIVERGED = [row(1, 2.4, 0.2), row(1.5, math.inf, 0.0)]  # its loss stopped being finite mid-way through epoch 2


def test_replicate_k_has_seed_first_plus_k():
    assert seeds_of(100, 3) == [100, 101, 102] and seeds_of(0, 1) == [0]


def test_replicates_that_finish_average_row_by_row():
    mean = mean_history([LIVE, OTHER])
    assert [r["epoch"] for r in mean] == [1.0, 2.0, 3.0] and not any(r["diverged"] for r in mean)
    assert mean[-1]["train_loss"] == pytest.approx(1.1) and mean[-1]["validation_acc"] == pytest.approx(0.7)


def test_a_diverged_replicate_makes_the_rest_of_the_mean_diverged_not_the_mean_of_the_others():
    mean = mean_history([LIVE, OTHER, DIVERGED])
    assert [r["epoch"] for r in mean] == [1.0, 1.5, 2.0, 3.0]  # the longest history, and the diverging row
    assert mean[0]["train_loss"] == pytest.approx(2.2) and not mean[0]["diverged"]  # every replicate has epoch 1
    for later in mean[1:]:
        assert later["diverged"]
        assert math.isnan(later["train_loss"]) and math.isnan(later["validation_acc"])  # not n - 1 losses


def test_the_mean_ends_where_the_run_ends_not_at_the_shortest_history():
    mean = mean_history([DIVERGED, LIVE])  # the shortest first: zip would stop after its two rows
    assert mean[-1]["epoch"] == 3.0 and mean[-1]["diverged"]


def test_a_value_one_replicate_lacks_is_no_mean_of_the_others():
    without_acc = [{k: v for k, v in r.items() if k != "validation_acc"} for r in OTHER]
    mean = mean_history([LIVE, without_acc])
    assert all(math.isnan(r["validation_acc"]) for r in mean)
    assert mean[1]["train_loss"] == pytest.approx(1.6)


def test_rows_of_one_mean_row_must_share_their_epoch():
    with pytest.raises(ValueError, match="one epoch"):
        mean_row([row(1, 1.0), row(2, 1.0)])


def test_the_summary_mean_is_none_unless_every_replicate_has_a_finite_value():
    summaries = [
        {"test_acc": 0.8, "final_train_loss": 0.3, "diverged": False, "arch": "a"},
        {"test_acc": 0.6, "final_train_loss": None, "diverged": True, "arch": "b"},
    ]
    mean = mean_summary(summaries)
    assert mean == {"test_acc": pytest.approx(0.7), "final_train_loss": None, "diverged": True, "arch": "a"}


class _Log:
    def __init__(self):
        self.rows: list[dict] = []

    def log(self, row: dict) -> None:
        self.rows.append(row)


def _same(a: list[dict], b: list[dict]) -> bool:
    def key(rows):
        return [{k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]

    return key(a) == key(b)


def test_live_means_log_the_mean_history_as_rows_become_known():
    logs = [_Log(), _Log()]
    report = live_means(logs, per_run=3)
    runs = [[LIVE, OTHER, DIVERGED], [OTHER, LIVE, OTHER]]
    for step in range(3):  # as train_stacked reports: each live replicate's row, step by step
        for k, history in enumerate(runs[0] + runs[1]):
            if step < len(history):
                report(k, history[step])
    for log, run in zip(logs, runs):
        assert _same(log.rows, mean_history(run))


def test_rows_without_a_diverged_flag_average_as_finished_runs():
    """A CNN cell's history rows carry no `diverged`: its replicates' rows average like any finished run's."""
    rows = [[{"epoch": 1, "train_loss": 0.5}], [{"epoch": 1, "train_loss": 0.7}]]
    assert mean_history(rows) == [{"epoch": 1, "diverged": False, "train_loss": pytest.approx(0.6)}]
