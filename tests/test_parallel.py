"""Runs trained side by side in worker processes equal the same runs trained one by one."""

import sys
import textwrap

import pytest
import torch
from conftest import ROOT, run_bounded

from nnrepro.errors import UserError
from nnrepro.europe import runs, stacked
from nnrepro.runtime import parallel

CPU = torch.device("cpu")


def _splits():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(400, 2, generator=generator) * 20
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    return {"train": (x, y), "validation": (x[:100], y[:100])}


def _jobs():
    sched = {"lr": 0.01, "epochs": 2, "batch_size": 32}
    archs = [
        {"depth": 2, "width": 8, "batchnorm": False},
        {"depth": 2, "width": 8, "batchnorm": True},
        {"depth": 3, "width": 4, "residual": True},
    ]
    return [(arch, sched, _splits(), 0, f"job {k}", 4) for k, arch in enumerate(archs)]


def _fit(arch, sched, splits, seed, label, num_classes):
    """One run (K = 1) through the stacked trainer: (model, history)."""
    model = runs.build(arch, seed, num_classes, CPU)
    (history,) = stacked.train_stacked(
        [model], splits, lrs=[sched["lr"]], seeds=[seed], epochs=sched["epochs"], batch_size=sched["batch_size"]
    )
    return model, history


def _comparable(results):
    return [
        ([{k: v for k, v in row.items() if k != "seconds"} for row in history], model.state_dict())
        for model, history in results
    ]


def test_two_workers_give_the_results_of_one_by_one():
    alone, _ = parallel.run_all(_fit, _jobs(), CPU, workers=1)
    side_by_side, seconds = parallel.run_all(_fit, _jobs(), CPU, workers=2)
    assert len(seconds) == 3 and all(s > 0 for s in seconds)
    for (h1, s1), (h2, s2) in zip(_comparable(alone), _comparable(side_by_side)):
        assert h1 == h2 and s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert _comparable(alone)[0][0] != _comparable(alone)[1][0]  # the jobs differ: order is kept, not luck


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


def test_a_stage_forks_its_workers_and_they_give_the_results_of_one_by_one():
    out = _in_fresh_process("""
        from nnrepro.runtime import parallel
        import test_parallel as t
        print(parallel.start_method())
        forked, _ = parallel.run_all(t._fit, t._jobs(), t.CPU, workers=2)
        alone, _ = parallel.run_all(t._fit, t._jobs(), t.CPU, workers=1)
        same = [h1 == h2 and all(torch.equal(s1[k], s2[k]) for k in s1)
                for (h1, s1), (h2, s2) in zip(t._comparable(forked), t._comparable(alone))]
        print(len(same), all(same))
    """)
    assert out.split() == ["fork", "3", "True"]


def test_spawn_once_a_thread_started_after_the_import():
    out = _in_fresh_process("""
        import threading
        import time
        from nnrepro.runtime import parallel
        print(parallel.start_method())
        release = threading.Event()
        thread = threading.Thread(target=release.wait)
        thread.start()
        print(parallel.start_method())
        release.set()
        thread.join()
        for _ in range(100):  # the kernel lets go of a joined thread a moment later
            if parallel.start_method() == "fork":
                break
            time.sleep(0.01)
        print(parallel.start_method())
        torch.set_num_threads(2)  # an OpenMP team, which a forked child would inherit broken
        torch.randn(512, 512) @ torch.randn(512, 512)
        print(parallel.start_method())
    """)
    assert out.split() == ["fork", "spawn", "fork", "spawn"]
