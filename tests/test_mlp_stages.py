"""Each MLP stage end to end through its entry point, on tiny data and schedules."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_stage

from nnrepro.report import readback

TINY = {
    "data_seed": 0,
    "replicates": {"first": 0, "mlp": 2, "grad_probe": 2, "probe": 1, "cnn": 1},
    "device": "cpu",
    "lr": 0.01,
    "europe": {"source": "embedded", "csv_dir": "", "n_train": 660, "n_validation": 99, "n_test": 99},
    "mlp": {"depth": 2, "width": 8, "features": "xy", "batch_size": 64, "epochs": 2},
    "mlp_lr": {"lrs": [0.01], "batchnorm": [False, True]},
    "mlp_long": {"epochs": 3},
    "mlp_batch": {"pairs": [[16, 1], [64, 2]], "first_epoch_evals": 4},
    "mlp_grid": {"depths": [1, 2], "widths": [8]},
    "evaluate": {"select_from": "grid", "mesh": 40},
    "grad_probe": {"depth": 12, "width": 4, "epochs": 2, "batch_size": 64, "layers": [0, 6, 11]},
}


def with_replicates(**counts) -> dict:
    """TINY with some replicates.<key> changed."""
    return {**TINY, "replicates": {**TINY["replicates"], **counts}}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlp")
    result = run_stage("prepare_europe.py", ["--out", root / "data"], root, TINY)
    assert result.returncode == 0, result.stderr
    return root


def outputs(root, name):
    return [
        "--data",
        root / "data",
        "--live",
        root / "plots" / name,
        "--metrics",
        root / "metrics" / f"{name}.json",
        "--provenance",
        root / "provenance" / f"{name}.json",
        "--timings",
        root / "timings" / f"{name}.json",
    ]


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def lr_sweep_args(root, name):
    return [
        "--data",
        root / "data",
        "--live",
        root / "plots" / name,
        "--metrics",
        root / "metrics" / name,
        "--models",
        root / "models" / name,
        "--provenance",
        root / "provenance" / f"{name}.json",
        "--timings",
        root / "timings" / f"{name}.json",
    ]


def tsv(folder, key):
    return pd.read_csv(folder / "plots" / "metrics" / f"{key}.tsv", sep="\t")


def test_mlp_lr_sweep_writes_each_cell_its_mean_and_replicates(workdir):
    ok(run_stage("mlp_lr.py", lr_sweep_args(workdir, "lr"), workdir, TINY))
    assert sorted(p.name for p in (workdir / "metrics" / "lr").iterdir()) == [
        "lr0.01-bnfalse.json",
        "lr0.01-bntrue.json",
    ]
    metrics = json.loads((workdir / "metrics" / "lr" / "lr0.01-bntrue.json").read_text())
    assert metrics["batchnorm"] is True and metrics["epochs_run"] == 2.0 and 0 <= metrics["final_test_acc"] <= 1
    assert metrics["seeds"] == [0, 1] and set(metrics["replicates"]) == {"rep0", "rep1"}
    assert "provenance" not in metrics  # a file of its own: metrics hold only what `dvc exp show` should list
    assert json.loads((workdir / "provenance" / "lr.json").read_text())["replicates_first"] == 0
    cell = workdir / "plots" / "lr" / "lr0.01-bntrue"
    loss = tsv(cell, "validation/loss")
    assert list(loss.columns) == ["step", "loss"] and len(loss) == 2
    table = pd.read_csv(cell / "replicates.tsv", sep="\t")
    assert list(table["replicate"]) == ["rep0", "rep0", "rep1", "rep1"] and list(table["step"]) == [0, 1, 0, 1]
    reps = [table[table["replicate"] == f"rep{k}"]["validation_loss"].reset_index(drop=True) for k in (0, 1)]
    assert not reps[0].equals(reps[1])  # two seeds, two runs
    assert loss["loss"].tolist() == pytest.approx(((reps[0] + reps[1]) / 2).tolist(), rel=1e-6)
    assert metrics["final_test_acc"] == pytest.approx(
        np.mean([r["final_test_acc"] for r in metrics["replicates"].values()]), rel=1e-6
    )
    assert sorted(p.name for p in (workdir / "models" / "lr").iterdir()) == [
        f"lr0.01-bn{bn}-rep{k}.pt" for bn in ("false", "true") for k in (0, 1)
    ]


def test_a_replicate_trained_stacked_equals_the_run_alone(workdir):
    """Replicate 0 of a two-seed sweep is the one-seed sweep's run: stacking changes nothing but the speed."""
    ok(run_stage("mlp_lr.py", lr_sweep_args(workdir, "lr1"), workdir, with_replicates(mlp=1)))
    for bn in ("false", "true"):
        alone = json.loads((workdir / "metrics" / "lr1" / f"lr0.01-bn{bn}.json").read_text())
        stacked = json.loads((workdir / "metrics" / "lr" / f"lr0.01-bn{bn}.json").read_text())["replicates"]["rep0"]
        assert alone["replicates"]["rep0"] == pytest.approx(stacked, rel=1e-5)


@pytest.fixture(scope="module")
def long_run(workdir):
    """mlp_long run once: its metrics file and models folder."""
    ok(run_stage("mlp_long.py", [*outputs(workdir, "long"), "--models", workdir / "long_models"], workdir, TINY))
    return workdir / "metrics" / "long.json", workdir / "long_models"


def test_mlp_long_runs_plain_and_batchnorm(workdir, long_run):
    """Both variants over both seeds, for mlp_long.epochs; each saved model scores what its metrics say."""
    import torch

    from nnrepro.europe import mlp, points

    metrics_file, models = long_run
    metrics = json.loads(metrics_file.read_text())
    assert set(metrics) == {"plain", "batchnorm"}
    for name, run in metrics.items():
        assert run["epochs_run"] == 3.0 and not run["diverged"] and run["final_validation_acc"] > 1 / 33
        x, y = points.load_splits(workdir / "data", torch.device("cpu"))["test"]
        for rep, summary in run["replicates"].items():
            model = mlp.load(models / f"{name}-{rep}.pt", points.NUM_CLASSES)
            with torch.no_grad():
                accuracy = (model(x).argmax(1) == y).float().mean().item()
            assert accuracy == pytest.approx(summary["final_test_acc"], abs=1e-6)
    assert metrics["plain"]["final_train_loss"] != metrics["batchnorm"]["final_train_loss"]


def test_mlp_batch_evaluates_inside_every_first_epoch(workdir):
    ok(run_stage("mlp_batch.py", [*outputs(workdir, "batch"), "--models", workdir / "models"], workdir, TINY))
    metrics = json.loads((workdir / "metrics" / "batch.json").read_text())
    assert metrics["b16-e1"]["iterations_per_epoch"] == 42 and metrics["b64-e2"]["iterations_per_epoch"] == 11
    acc = pd.read_csv(workdir / "plots" / "batch" / "b16-e1" / "plots" / "metrics" / "test" / "acc.tsv", sep="\t")
    assert len(acc) == 4
    epochs = pd.read_csv(workdir / "plots" / "batch" / "b64-e2" / "plots" / "metrics" / "epoch.tsv", sep="\t")
    assert epochs["epoch"].tolist() == pytest.approx([3 / 11, 6 / 11, 8 / 11, 1.0, 2.0], abs=1e-6)  # steps 3, 6, 8, 11
    assert (epochs["epoch"] < 1).sum() == 3  # every pair is evaluated inside its first epoch
    timings = json.loads((workdir / "timings" / "batch.json").read_text())
    assert timings["b16-e1_seconds_per_epoch"] > 0


@pytest.fixture(scope="module")
def sine_models(workdir):
    """mlp_sine run once: its models folder."""
    ok(run_stage("mlp_sine.py", [*outputs(workdir, "sine"), "--models", workdir / "sine_models"], workdir, TINY))
    return workdir / "sine_models"


def test_grid_then_evaluate_picks_best_and_worst(workdir, sine_models):
    args = [
        "--models",
        workdir / "grid_models",
        "--data",
        workdir / "data",
        "--live",
        workdir / "grid_live",
        "--metrics",
        workdir / "grid_metrics",
        "--timings",
        workdir / "t" / "grid.json",
        "--provenance",
        workdir / "p" / "grid.json",
    ]
    ok(run_stage("mlp_grid.py", args, workdir, TINY, env={"NNREPRO_THREADS": "2"}))  # both cells side by side
    assert sorted(p.name for p in (workdir / "grid_models").iterdir()) == [
        f"d{d}-w8-rep{k}.pt" for d in (1, 2) for k in (0, 1)
    ]
    timings = json.loads((workdir / "t" / "grid.json").read_text())
    assert timings["d1-w8_seconds"] > 0 and timings["d2-w8_seconds"] > 0
    args = [
        "--data",
        workdir / "data",
        "--grid",
        workdir / "grid_metrics",
        workdir / "grid_live",
        workdir / "grid_models",
        "--sine",
        sine_models,
        "--out",
        workdir / "evaluate",
        "--metrics",
        workdir / "evaluate.json",
        "--provenance",
        workdir / "p" / "evaluate.json",
        "--timings",
        workdir / "t" / "evaluate.json",
    ]
    ok(run_stage("evaluate.py", args, workdir, TINY))
    summary = json.loads((workdir / "evaluate.json").read_text())
    cells = {
        c: json.loads((workdir / "grid_metrics" / f"{c}.json").read_text())["final_validation_acc"]
        for c in ("d1-w8", "d2-w8")
    }
    assert summary["best_cell"] == max(cells, key=cells.get) and summary["worst_cell"] == min(cells, key=cells.get)
    for name in ("best", "xy", "sine"):  # the grid's models and mlp_sine's, at evaluate.mesh
        mesh = np.load(workdir / "evaluate" / f"{name}_boundary.npz")
        assert mesh["labels"].shape == (len(mesh["lat"]), 40) and mesh["labels"].max() < 33
    assert len(pd.read_csv(workdir / "evaluate" / "acc_vs_depth.csv")) == 2
    assert list(pd.read_csv(workdir / "evaluate" / "acc_vs_width.csv")["width"]) == [8]
    loss = pd.read_csv(workdir / "evaluate" / "worst_history" / "validation" / "loss.tsv", sep="\t")
    assert len(loss) == 2 and summary["select_from"] == "grid"
    copied = pd.read_csv(workdir / "evaluate" / "worst_history" / "replicates.tsv", sep="\t")
    assert set(copied["replicate"]) == {"rep0", "rep1"} and len(copied) == 4
    predicted = pd.read_csv(workdir / "evaluate" / "best_test_predictions.csv")
    assert list(predicted.columns) == ["long", "lat", "country", "rep0", "rep1"] and len(predicted) == 99
    assert predicted["rep0"].isin(predicted["country"]).mean() > 0  # country names, not label numbers
    accuracy = (predicted["rep0"] == predicted["country"]).mean()
    best_rep0 = json.loads((workdir / "grid_metrics" / f"{summary['best_cell']}.json").read_text())["replicates"][
        "rep0"
    ]
    assert accuracy == pytest.approx(best_rep0["final_test_acc"], abs=1e-6)
    slice_cell = f"d{summary['width_slice_depth']}-w8"  # the width slice's cells: where their test errors lie
    facts = readback.grid(workdir / "evaluate.json", workdir / "evaluate")
    assert list(facts["points"]) == [slice_cell] and len(facts["points"][slice_cell]["replicates"]) == 2
    assert len(facts["points"][slice_cell]["country"]) == 99

    # params changed since mlp_grid ran (DVC would rerun it first): evaluate reads the cells mlp_grid wrote, not
    # names rebuilt from params, so it can look for no cell that was never trained
    changed = {**TINY, "mlp_grid": {"depths": [1, 2, 3], "widths": [8, 16]}}
    ok(run_stage("evaluate.py", args, workdir, changed))
    assert json.loads((workdir / "evaluate.json").read_text()) == summary
    coarser = {**TINY, "evaluate": {**TINY["evaluate"], "mesh": 20}}  # a plot's resolution: evaluate alone redraws
    ok(run_stage("evaluate.py", args, workdir, coarser))
    assert np.load(workdir / "evaluate" / "sine_boundary.npz")["labels"].shape[1] == 20
    for cell in workdir.joinpath("grid_metrics").glob("*.json"):
        cell.rename(cell.with_suffix(".gone"))
    result = run_stage("evaluate.py", args, workdir, TINY)
    assert result.returncode == 2 and "mlp_grid's cells in" in result.stderr and "is missing" in result.stderr


def test_grad_probe_records_each_replicate_layer_and_epoch(workdir):
    ok(run_stage("grad_probe.py", [*outputs(workdir, "probe"), "--models", workdir / "models"], workdir, TINY))
    metrics = json.loads((workdir / "metrics" / "probe.json").read_text())
    assert set(metrics) == {"plain", "residual"} and set(metrics["plain"]) == {"rep0", "rep1"}
    curves = json.loads((workdir / "plots" / "probe" / "probe.json").read_text())
    assert curves["seeds"] == [0, 1] and curves["layers"] == [0, 6, 11] and curves["depth"] == 12
    grads, dead = curves["residual"]["grad_sq_norm"], curves["residual"]["dead_fraction"]
    assert [len(g) for g in grads] == [2, 2] and all(len(epoch) == 3 for seed in dead for epoch in seed)
    assert grads[0] != grads[1]  # the seeds are different runs
    median = pd.read_csv(workdir / "plots" / "probe" / "plain_median.csv")
    assert list(median.columns) == ["layer", "epoch", "grad_sq_norm"]
    assert median["layer"].tolist() == [0, 0, 6, 6, 11, 11]
    assert (workdir / "models" / "residual-rep1.pt").exists()


def test_mlp_sine_trains_both_feature_sets_and_reads_no_mesh(workdir, sine_models):
    metrics = json.loads((workdir / "metrics" / "sine.json").read_text())
    assert {"xy", "sine"} <= set(metrics)
    assert sorted(p.name for p in sine_models.iterdir()) == [f"{f}-rep{k}.pt" for f in ("sine", "xy") for k in (0, 1)]
    assert not list((workdir / "plots" / "sine").glob("*.npz"))  # the evaluate stage draws the boundaries
    no_mesh = {**TINY, "evaluate": {"select_from": "grid"}}  # evaluate.mesh absent: mlp_sine never asks for it
    ok(run_stage("mlp_sine.py", [*outputs(workdir, "sine2"), "--models", workdir / "sine2"], workdir, no_mesh))
    assert (workdir / "metrics" / "sine2.json").read_bytes() == (workdir / "metrics" / "sine.json").read_bytes()


def test_replicate_k_trains_from_seed_first_plus_k(workdir, long_run):
    """replicates.first = 1 with one replicate trains the run that was rep1 (seed 1) under first = 0: the runs
    move, the data stays."""
    shifted = {**TINY, "replicates": {**TINY["replicates"], "first": 1, "mlp": 1}}
    ok(run_stage("mlp_long.py", [*outputs(workdir, "shifted"), "--models", workdir / "m_shifted"], workdir, shifted))
    before = json.loads(long_run[0].read_text())
    after = json.loads((workdir / "metrics" / "shifted.json").read_text())
    for name in ("plain", "batchnorm"):
        assert after[name]["seeds"] == [1] and before[name]["seeds"] == [0, 1]
        assert after[name]["replicates"]["rep0"] == pytest.approx(before[name]["replicates"]["rep1"], rel=1e-5)
        assert after[name]["replicates"]["rep0"] != pytest.approx(before[name]["replicates"]["rep0"], rel=1e-5)
    assert json.loads((workdir / "provenance" / "shifted.json").read_text())["replicates_first"] == 1


def test_same_seed_gives_identical_metrics_and_models(workdir, long_run):
    metrics, models = long_run
    ok(run_stage("mlp_long.py", [*outputs(workdir, "again"), "--models", workdir / "m2"], workdir, TINY))
    assert (workdir / "metrics" / "again.json").read_bytes() == metrics.read_bytes()
    saved = sorted(p.name for p in models.glob("*.pt"))
    assert saved and {n: (workdir / "m2" / n).read_bytes() for n in saved} == {
        n: (models / n).read_bytes() for n in saved
    }


def test_each_run_of_a_stack_gets_its_share_of_the_stacks_seconds():
    """Runs trained stacked share one clock: the stack's seconds are split by the epochs each run's replicates
    trained, so a run that diverged early costs less, and the shares add up to the stack's seconds."""
    from nnrepro.europe import runs

    full = [{"epoch": 1.0}, {"epoch": 2.0}]
    early = [{"epoch": 0.5, "diverged": True}]
    shares = runs.stack_shares([[full, full], [full, early], [full, full]], 10.0)
    assert shares == pytest.approx([40 / 10.5, 25 / 10.5, 40 / 10.5])  # epochs trained: 4, 2.5, 4 of 10.5
    assert sum(shares) == pytest.approx(10.0) and shares[1] < shares[0] == shares[2]
    assert runs.stack_shares([[full], [full]], 3.0) == pytest.approx([1.5, 1.5])
