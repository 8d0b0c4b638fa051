"""bench/run.py: its timed stacked runs against the independent reference loop per run, its step candidates doing the
same work, the multiply-add count behind mlp_efficiency, and --device cuda without a GPU."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")
TINY = {"train": 600, "validation": 100, "test": 100}  # 3 steps an epoch at batch 256, the last one ragged


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def linear_gap(reference: list, ours: list) -> float:
    """Largest weight or bias difference of any Linear layer, relative to that tensor's largest value."""
    gap = 0.0
    for (net, _), (model, _) in zip(reference, ours):
        for a, b in zip([m for m in net.modules() if isinstance(m, nn.Linear)], [*model.hidden, model.output]):
            for p, q in ((a.weight, b.weight), (a.bias, b.bias)):
                gap = max(gap, ((p - q).abs().max() / p.abs().max()).item())
    return gap


def test_the_timed_stacked_runs_match_the_reference_loop(bench):
    """The 8 runs of the benchmark (lr 1 to 0.0001), 2 epochs: every history row and the final weights per run."""
    splits = bench.random_splits(TINY, CPU)
    reference = bench.reference_runs(splits, False, 2, CPU)
    ours = bench.stacked_runs(splits, False, 2, CPU)
    assert [len(h) for _, h in ours] == [2] * 8
    gaps = bench.differences(reference, ours)
    assert gaps["loss_rel"] < 1e-4 and gaps["acc_abs"] < 1e-3, gaps
    assert linear_gap(reference, ours) < 1e-4


def test_runs_with_other_seeds_fail_the_tolerance(bench):
    """Counter-example: the reference at seeds one off trains other runs, and the comparison says so."""
    splits = bench.random_splits(TINY, CPU)
    lrs = [0.01, 0.001]
    reference = bench.reference_runs(splits, False, 2, CPU, lrs=lrs, seeds=[1, 2])
    ours = bench.stacked_runs(splits, False, 2, CPU, lrs=lrs, seeds=[0, 1])
    assert bench.differences(reference, ours)["loss_rel"] > 1e-3
    assert linear_gap(reference, ours) > 1e-2


def test_the_step_candidates_train_alike(bench):
    """The autograd and earlier-loss candidates take the trainer's steps: after a few, the same parameters (so their
    timings compare the same work); a candidate at another lr does not."""
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(5, 3, 2, 16, generator=generator) * 40, torch.randint(33, (5, 3, 16), generator=generator)
    flats = []
    candidates = (bench.HandWrittenStack, bench.AutogradStack, bench.LogSoftmaxCandidate, bench.AutogradStack)
    for candidate, lr in zip(candidates, (0.01, 0.01, 0.01, 0.02)):
        models = [bench.runs.build({"depth": 3, "width": 8, "features": "xy"}, s, 33, CPU) for s in range(3)]
        stack = candidate(models, [lr] * 3)
        for i in range(5):
            stack.step(x[i], y[i])
        flats.append((stack.stack if hasattr(stack, "stack") else stack).flat.detach())
    torch.testing.assert_close(flats[1], flats[0], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(flats[2], flats[0], rtol=1e-4, atol=1e-6)
    assert not torch.allclose(flats[3], flats[0], rtol=1e-4, atol=1e-6)


def test_the_steps_case_reports_each_cell_and_candidate(bench, monkeypatch):
    monkeypatch.setattr(bench, "CELLS", ((1, 8),))
    results = bench.steps_case(1, CPU, mac_s=1e9, steps=2)
    assert list(results) == ["d1-w8"] and set(results["d1-w8"]) == set(bench.CANDIDATES)
    assert all(r["step_ms"] > 0 and r["efficiency"] > 0 for r in results["d1-w8"].values())


def test_a_loss_finite_on_one_side_only_is_an_unbounded_difference(bench):
    row = {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5}
    nan = {**row, "train_loss": float("nan")}
    assert bench.differences([(None, [row])], [(None, [nan])])["loss_rel"] == float("inf")
    assert bench.differences([(None, [nan])], [(None, [nan])]) == {"loss_rel": 0.0, "acc_abs": 0.0}


def test_grid_multiply_adds_match_the_hand_count(bench):
    """16 cells x 3 seeds x 50 epochs: 5.13 TMAC; d1-w8 alone 14.6 GMAC (3 x forward on train, forward on
    validation and test, counted by hand from the layer shapes 2 -> w -> ... -> 33)."""
    values = {
        "europe": {"n_train": 106897, "n_validation": 13363, "n_test": 13363},
        "replicates": {"mlp": 3, "grad_probe": 1},
        "mlp": {"depth": 6, "width": 16, "features": "xy", "batch_size": 256, "epochs": 50},
        "mlp_lr": {"lrs": [1], "batchnorm": [False]},
        "mlp_long": {"epochs": 1},
        "mlp_batch": {"pairs": [[256, 1]], "first_epoch_evals": 1},
        "grad_probe": {"depth": 2, "width": 4, "epochs": 1, "batch_size": 256},
        "mlp_grid": {"depths": [1, 2, 6, 10], "widths": [8, 16, 32, 64]},
    }
    assert bench.stage_macs(values)["mlp_grid"] == pytest.approx(5.12787e12, rel=1e-5)
    one_cell = {**values, "mlp_grid": {"depths": [1], "widths": [8]}}
    per_example = 2 * 8 + 8 * 33
    assert bench.stage_macs(one_cell)["mlp_grid"] == 3 * 50 * per_example * (3 * 106897 + 2 * 13363)
    assert bench.stage_macs(values)["mlp_batch"] == bench.stage_macs(values)["mlp_lr"] / 50
    eight = {**values, "replicates": {"mlp": 8, "grad_probe": 8}}
    assert bench.stage_macs(eight)["mlp_grid"] == pytest.approx(5.12787e12 * 8 / 3, rel=1e-5)
    older = {**values, "seeds": 3, "grad_probe": {**values["grad_probe"], "seeds": 1}}
    del older["replicates"]
    assert bench.stage_macs(older) == bench.stage_macs(values)  # params.yaml before the replicates block


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_cuda_without_a_gpu_says_skipped_and_keeps_the_cpu_figures(tmp_path):
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"stacked_ratio": 7.0}))
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--device", "cuda", "--out", str(out)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    assert results["stacked_ratio"] == 7.0 and results["cuda"]["skipped"] == "no CUDA"
