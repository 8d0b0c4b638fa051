"""runtime.memory: memory a training step frees is reused by the next instead of being mapped afresh, and no number
that training computes changes."""

import sys
import textwrap

import pytest
from conftest import ROOT, run_bounded

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings: Linux only")

PAGE_FAULTS = """
    import resource, torch
    from nnrepro.europe import runs, stacked
    from nnrepro.runtime import memory
    torch.set_num_threads(1)
    print(memory.keep_freed_memory() if {keep} else "default")
    models = [runs.build({{"depth": 6, "width": 64, "features": "xy"}}, s, 33, torch.device("cpu")) for s in range(8)]
    x, y, loss, right = torch.rand(8, 2, 256) * 40, torch.randint(33, (8, 256)), torch.zeros(8), torch.zeros(8)
    with torch.inference_mode():
        stack = stacked._Stack(models, [1e-3] * 8)  # a step of the 6x64 grid cell: 512 KiB activations

        def step():
            stack.step(x, y, loss, right)
            stack.adam()

        for _ in range(3):
            step()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""

TRAINING = """
    import hashlib, torch
    from nnrepro.europe import runs, stacked
    from nnrepro.runtime import memory
    torch.set_num_threads(1)
    {keep} and memory.keep_freed_memory()
    g = torch.Generator().manual_seed(0)
    splits = {{s: (torch.rand(n, 2, generator=g) * 40, torch.randint(5, (n,), generator=g))
              for s, n in (("train", 600), ("validation", 200))}}
    models = [runs.build({{"depth": 3, "width": 64, "features": "xy"}}, s, 5, torch.device("cpu")) for s in (0, 1)]
    histories = stacked.train_stacked(models, splits, lrs=[0.01, 0.001], seeds=[0, 1], epochs=2, batch_size=64)
    rows = [[{{k: v for k, v in row.items() if k != "seconds"}} for row in history] for history in histories]
    digest = hashlib.sha256(repr(rows).encode())
    for model in models:
        for value in model.state_dict().values():
            digest.update(value.numpy().tobytes())
    print(digest.hexdigest())
"""


def _fresh(code: str) -> list[str]:
    done = run_bounded(
        [sys.executable, "-c", textwrap.dedent(code)],
        120,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_a_step_reuses_the_memory_the_step_before_freed():
    """By default the step's freed activations go back to the kernel and come back as fresh pages, a page fault per
    4 KiB (about 1,000 a step); kept, almost none."""
    default, default_faults = _fresh(PAGE_FAULTS.format(keep=False))
    kept, kept_faults = _fresh(PAGE_FAULTS.format(keep=True))
    assert (default, kept) == ("default", "True")
    assert float(default_faults) > 200  # the counter-example: glibc's defaults
    assert float(kept_faults) < 20


def test_kept_memory_changes_no_number_training_computes():
    """Width-64 activations (over 128 KiB each) are where the allocations differ: histories and weights are the same
    bytes either way."""
    assert _fresh(TRAINING.format(keep=False)) == _fresh(TRAINING.format(keep=True))
