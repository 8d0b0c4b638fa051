"""A stage dies with its signal: SIGTERM or SIGINT to a stage that trains in forked workers ends it and every
process it started within seconds, with one line, no output and nothing left running."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import yaml
from conftest import ROOT, kill_session
from pipeline_helpers import tiny_params

STOP_WITHIN = 10  # seconds from the signal until the stage and all its workers are gone


def _start(case, threads: int = 2) -> subprocess.Popen:
    """mlp_long for far more epochs than the test waits, its replicates side by side in `threads` workers."""
    params = tiny_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    params["mlp_long"]["epochs"] = 100_000
    (case / "params.yaml").write_text(yaml.safe_dump(params))
    args = [
        "--data",
        str(ROOT / "examples" / "europe"),
        "--live",
        "out/live",
        "--models",
        "out/models",
        "--metrics",
        "out/metrics.json",
        "--provenance",
        "out/provenance.json",
        "--timings",
        "out/timings.json",
    ]
    env = {**os.environ, "NNREPRO_THREADS": str(threads)}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "stages" / "mlp_long.py"), *args],
        cwd=case,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    """SIGINT at its default in the stage, which Python then turns into KeyboardInterrupt. A process started with
    SIGINT ignored keeps it ignored, and this test's own process may have been left with that: DVC, run in-process
    by other tests, ignores SIGINT while a stage runs and does not restore a SIG_DFL handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _helper(process: psutil.Process, stage_pid: int) -> bool:
    """multiprocessing's resource tracker or fork server (whose children are the workers): a child of the stage
    that trains nothing."""
    line = " ".join(process.cmdline())
    return "multiprocessing.resource_tracker" in line or (
        process.ppid() == stage_pid and "multiprocessing.forkserver" in line
    )


def _workers(proc: subprocess.Popen, count: int, timeout: float = 120) -> list[psutil.Process]:
    """The stage's descendants once `count` workers are training (each has used CPU time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = psutil.Process(proc.pid).children(recursive=True)
        training = [p for p in found if not _helper(p, proc.pid)]
        if len(training) >= count and all(p.cpu_times().user > 0.5 for p in training[:count]):
            return found
        time.sleep(0.2)
    err = proc.stderr.read()[-2000:] if proc.poll() is not None else "(still running)"  # a live stage's pipe blocks
    raise AssertionError(f"no {count} workers training; exit {proc.poll()}: {err}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_stage_and_every_worker_with_one_line(tmp_path, signum):
    proc = _start(tmp_path)
    try:
        workers = _workers(proc, 2)
        os.kill(proc.pid, signum)  # the stage alone, as `kill` or DVC would; not its process group
        began = time.monotonic()
        _, err = proc.communicate(timeout=STOP_WITHIN)
        gone_after = time.monotonic() - began
        _, alive = psutil.wait_procs(workers, timeout=max(0.1, STOP_WITHIN - gone_after))
    finally:
        kill_session(proc.pid)
        proc.wait()
    assert not alive, f"{len(alive)} workers outlived the stage"
    assert proc.returncode == 128 + signum, err[-2000:]
    assert err.strip().splitlines() == [
        f"error: stopped by {signum.name}, with every worker: no output of this run was kept; rerun to start again"
    ]
    assert not [p for p in (tmp_path / "out").rglob("*") if not p.is_dir()], "partial outputs were left"


def test_workers_die_with_a_stage_killed_outright(tmp_path):
    """SIGKILL leaves the stage no time to kill its workers: the kernel does (they asked at start)."""
    proc = _start(tmp_path)
    try:
        workers = _workers(proc, 2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=STOP_WITHIN)
        _, alive = psutil.wait_procs(workers, timeout=STOP_WITHIN)
    finally:
        kill_session(proc.pid)
        proc.wait()
    assert not alive, f"{len(alive)} workers outlived the stage"
