"""Runs trained side by side in worker processes equal the same runs trained one by one; the worker count follows
the CPUs this process may use, and the start method follows the platform alone."""

import sys
import textwrap

import pytest
import torch
from conftest import ROOT, run_bounded

from nnrepro.errors import UserError
from nnrepro.runtime import device, parallel

CPU = torch.device("cpu")


def train(seed: int, width: int, steps: int = 30) -> tuple[list[float], dict]:
    """A small seeded training job (its own generator for data and initialisation): losses and final weights."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 2, generator=generator) * 20
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.ReLU(), torch.nn.Linear(width, 4))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, net.state_dict()


JOBS = [(0, 8), (1, 8), (2, 16)]


def _same(a, b) -> bool:
    return all(la == lb and all(torch.equal(sa[k], sb[k]) for k in sa) for (la, sa), (lb, sb) in zip(a, b))


def test_two_workers_give_the_results_of_one_by_one():
    alone, _ = parallel.run_all(train, JOBS, CPU, workers=1)
    side_by_side, seconds = parallel.run_all(train, JOBS, CPU, workers=2)
    assert len(seconds) == 3 and all(s > 0 for s in seconds)
    assert _same(alone, side_by_side)
    assert alone[0][0] != alone[1][0]  # the jobs differ: order is kept, not luck


def _fail(message):
    raise UserError(message)


def test_a_failing_job_stops_with_its_own_error():
    with pytest.raises(UserError, match="bad cell"):
        parallel.run_all(_fail, [("bad cell",), ("other",)], CPU, workers=2)


def _in_fresh_process(code: str) -> str:
    """stdout of `code` run by a fresh interpreter that pins torch to one thread first, as every MLP stage does."""
    prelude = f"import sys, torch; torch.set_num_threads(1); sys.path[:0] = [{str(ROOT / 'tests')!r}]\n"
    done = run_bounded(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        120,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_start_method_ignores_what_ran_before_and_workers_still_match_one_by_one():
    """Before and after a thread and an OpenMP team start (which made the old rule switch from fork to spawn), the
    method is the same, and workers started after the team give the results of one by one."""
    out = _in_fresh_process("""
        import threading
        from nnrepro.runtime import parallel
        import test_parallel as t
        print(parallel.start_method())
        release = threading.Event()
        thread = threading.Thread(target=release.wait)
        thread.start()
        torch.set_num_threads(2)
        torch.randn(512, 512) @ torch.randn(512, 512)  # an OpenMP team, which a forked child would inherit broken
        print(parallel.start_method())
        side_by_side, _ = parallel.run_all(t.train, t.JOBS, t.CPU, workers=2)
        release.set()
        thread.join()
        alone, _ = parallel.run_all(t.train, t.JOBS, t.CPU, workers=1)
        print(t._same(side_by_side, alone))
    """)
    method = "forkserver" if sys.platform != "win32" else "spawn"
    assert out.split() == [method, method, "True"]


def test_available_cpus_follow_affinity(monkeypatch, tmp_path):
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(device, "CGROUP_V2_MAX", tmp_path / "absent")
    monkeypatch.setattr(device, "CGROUP_V1", tmp_path / "absent_v1")
    monkeypatch.setattr(device.os, "cpu_count", lambda: 64)
    assert device.available_cpus() == 3


@pytest.mark.parametrize(
    "cpu_max, expected",
    [("150000 100000", 2), ("100000 100000", 1), ("50000 100000", 1), ("max 100000", 6), ("900000 100000", 6)],
)
def test_available_cpus_follow_a_cgroup_v2_quota(monkeypatch, tmp_path, cpu_max, expected):
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: set(range(6)), raising=False)
    monkeypatch.setattr(device, "CGROUP_V2_MAX", tmp_path / "cpu.max")
    assert device.available_cpus() == expected


@pytest.mark.parametrize("quota, expected", [("250000", 3), ("-1", 6)])
def test_available_cpus_follow_a_cgroup_v1_quota(monkeypatch, tmp_path, quota, expected):
    (tmp_path / "cpu.cfs_quota_us").write_text(quota + "\n")
    (tmp_path / "cpu.cfs_period_us").write_text("100000\n")
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: set(range(6)), raising=False)
    monkeypatch.setattr(device, "CGROUP_V2_MAX", tmp_path / "absent")
    monkeypatch.setattr(device, "CGROUP_V1", tmp_path)
    assert device.available_cpus() == expected


def test_thread_count_is_nnrepro_threads_else_the_available_cpus(monkeypatch):
    monkeypatch.setattr(device, "available_cpus", lambda: 3)
    monkeypatch.delenv("NNREPRO_THREADS", raising=False)
    assert device.thread_count() == 3
    monkeypatch.setenv("NNREPRO_THREADS", "2")
    assert device.thread_count() == 2
