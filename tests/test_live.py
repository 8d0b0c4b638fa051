"""DVCLive written while training runs: the files a run leaves equal the finished history logged at once, byte for
byte, and a running stage's files already hold the epochs done so far."""

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import ROOT, kill_session, run_stage

from nnrepro import io
from nnrepro.europe import points, runs
from nnrepro.replicates import live_means, mean_history

TINY = {
    "data_seed": 0,
    "replicates": {"first": 0, "mlp": 2, "grad_probe": 2, "probe": 2, "cnn": 1},
    "device": "cpu",
    "lr": 0.01,
    "europe": {"source": "embedded", "csv_dir": "", "n_train": 330, "n_validation": 66, "n_test": 66},
    "mlp": {"depth": 2, "width": 8, "features": "xy", "batch_size": 64, "epochs": 3},
    "mlp_long": {"epochs": 3},
}


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def row(epoch: int, loss: float) -> dict:
    return {
        "epoch": float(epoch),
        "train_loss": loss,
        "train_acc": 0.5,
        "validation_loss": loss / 2,
        "validation_acc": 0.25,
        "diverged": not math.isfinite(loss),
        "seconds": 0.1 * epoch,
    }


@pytest.fixture(scope="module")
def europe(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    result = run_stage("prepare_europe.py", ["--out", root / "data"], root, TINY)
    assert result.returncode == 0, result.stderr
    return root


def test_live_means_equal_the_mean_history_logged_at_once(tmp_path):
    # run 0: two replicates, the second diverging at its second row (its mean is diverged from there on, as
    # mean_history's);
    # run 1: two replicates that finish
    histories = [
        [row(1, 2.0), row(2, 1.5), row(3, 1.2)],
        [row(1, 2.2), row(2, math.inf)],
        [row(1, 3.0), row(2, 2.5), row(3, 2.0)],
        [row(1, 3.1), row(2, 2.4), row(3, 2.1)],
    ]
    logs = [io.LiveHistory(tmp_path / "live" / name, every=0) for name in ("a", "b")]
    report = live_means(logs, per_run=2)
    for epoch in range(3):  # as train_stacked reports: each live replicate's row, epoch by epoch
        for k, history in enumerate(histories):
            if epoch < len(history):
                report(k, history[epoch])
    for log in logs:
        log.close()
    for name, group in (("a", histories[:2]), ("b", histories[2:])):
        io.log_history(mean_history(group), tmp_path / "replay" / name)
        assert files(tmp_path / "live" / name) == files(tmp_path / "replay" / name)
    assert (
        json.loads((tmp_path / "live" / "a" / "metrics.json").read_text())["step"] == 2
    )  # the run ends at its longest history
    assert json.loads((tmp_path / "live" / "b" / "metrics.json").read_text())["step"] == 2


def test_a_history_cut_short_differs_from_the_whole(tmp_path):
    history = [row(1, 2.0), row(2, 1.5), row(3, 1.2)]
    io.log_history(history, tmp_path / "whole")
    io.log_history(history[:2], tmp_path / "short")
    assert files(tmp_path / "whole") != files(tmp_path / "short")


def test_rows_reach_disk_as_they_come_unless_throttled(tmp_path):
    now, later = io.LiveHistory(tmp_path / "now", every=0), io.LiveHistory(tmp_path / "later", every=3600)
    for log in (now, later):
        log.log(row(1, 2.0))
        log.log(row(2, 1.5))
    metrics = tmp_path / "now" / "plots" / "metrics" / "train" / "loss.tsv"
    assert metrics.read_text().splitlines()[1:] == ["0\t2.0", "1\t1.5"]
    assert json.loads((tmp_path / "now" / "metrics.json").read_text())["step"] == 1
    later_loss = tmp_path / "later" / "plots" / "metrics" / "train" / "loss.tsv"
    assert later_loss.read_text().splitlines()[1:] == ["0\t2.0"]  # the first row at once, the second held back
    for log in (now, later):
        log.close()
    assert files(tmp_path / "now") == files(tmp_path / "later")


def test_fit_runs_writes_each_runs_mean_as_it_trains(europe, tmp_path):
    splits = points.load_splits(europe / "data", torch.device("cpu"))
    sched = {"epochs": 3, "batch_size": 64}
    todo = {
        f"lr{lr}": runs.Run({"depth": 2, "width": 8, "features": "xy"}, {**sched, "lr": lr}) for lr in (0.01, 0.001)
    }
    results = runs.fit_runs(todo, splits, [0, 1], "test", points.NUM_CLASSES, torch.device("cpu"), tmp_path / "live")
    for name, (fitted, _) in results.items():
        io.log_history(mean_history([history for _, history in fitted]), tmp_path / "replay" / name)
        live = files(tmp_path / "live" / name)
        assert live == files(tmp_path / "replay" / name) and len(live) == 8  # 7 step files and metrics.json


def test_a_running_stage_shows_the_epochs_done_so_far(europe):
    epochs = 20000  # minutes on 2 cores: the stage is stopped once its files show progress
    (europe / "params.yaml").write_text(yaml.safe_dump({**TINY, "mlp_long": {"epochs": epochs}}))
    live = europe / "plots" / "long"
    args = [
        "--data",
        europe / "data",
        "--live",
        live,
        "--models",
        europe / "models" / "long",
        "--metrics",
        europe / "metrics" / "long.json",
        "--provenance",
        europe / "provenance" / "long.json",
        "--timings",
        europe / "timings" / "long.json",
    ]
    log = europe / "stage.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "stages" / "mlp_long.py"), *map(str, args)],
            cwd=europe,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        step, deadline = 0, time.monotonic() + 240
        while step == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                step = json.loads((live / "plain" / "metrics.json").read_text())["step"]
            except (OSError, ValueError, KeyError):
                continue  # not there yet, or being rewritten
        assert proc.poll() is None, f"the stage ended before its files showed progress:\n{log.read_text()[-2000:]}"
        assert 0 < step < epochs - 1
        rows = (live / "plain" / "plots" / "metrics" / "validation" / "loss.tsv").read_text().splitlines()
        assert len(rows) - 1 >= step + 1  # the header, then one row per epoch done so far
        assert not (europe / "metrics" / "long.json").exists()
    finally:
        kill_session(proc.pid)
        proc.wait(timeout=30)
