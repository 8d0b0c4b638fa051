"""The CNN part end to end through its stage entry points, on a tiny set."""

import json

import pandas as pd
import pytest

LRS = [0.01, 0.001]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, repo_params):
    return tmp_path_factory.mktemp("cnn"), {
        **repo_params,
        "faces": {**repo_params["faces"], "n_train": 16, "n_validation": 8, "n_test": 8, "image_size": 32},
        "cnn": {**repo_params["cnn"], "lrs": LRS, "image_size": 32, "batch_size": 8},
        "replicates": {**repo_params["replicates"], "probe": 2, "cnn": 1},
        "xgboost": {"crop": 16},
    }


@pytest.fixture(scope="module")
def repo_params():
    import yaml
    from conftest import ROOT

    return yaml.safe_load((ROOT / "params.yaml").read_text())


def _baseline(baseline):
    """The arguments of stage cnn_<baseline>, as dvc.yaml gives them: every lr of cnn.lrs in one process."""
    data = "data/features/probe.pt" if baseline == "probe" else "data/faces/cache"
    return [
        "--baseline",
        baseline,
        "--data",
        data,
        "--metrics",
        f"metrics/cnn/{baseline}",
        "--predictions",
        f"predictions/cnn/{baseline}",
        "--models",
        f"models/cnn/{baseline}",
        "--live",
        f"plots/cnn/{baseline}",
        "--provenance",
        f"provenance/cnn_{baseline}.json",
        "--timings",
        f"timings/cnn_{baseline}.json",
    ]


EVALUATE = [
    "--cells",
    "metrics/cnn",
    "predictions/cnn",
    "--xgboost",
    "metrics/xgboost.json",
    "--selection",
    "out/selection.json",
    "--by-lr",
    "out/by_lr.csv",
]


def test_every_cnn_stage_end_to_end(workdir, stage):
    root, params = workdir

    def ok(script: str, args: list):
        return stage(script, args, root, params)

    assert ok("prepare_faces.py", ["--out", "data/faces"]).returncode == 0
    result = ok(
        "probe_features.py",
        [
            "--data",
            "data/faces/cache",
            "--out",
            "data/features/probe.pt",
            "--provenance",
            "provenance/probe.json",
            "--timings",
            "timings/probe.json",
        ],
    )
    assert result.returncode == 0, result.stderr
    for baseline in ("scratch", "probe", "finetune"):
        result = ok("cnn.py", _baseline(baseline))
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("validation acc") == len(LRS) and result.stdout == ""  # one line per cell
        timings = json.loads((root / f"timings/cnn_{baseline}.json").read_text())
        assert {f"{baseline}-{lr}_seconds" for lr in LRS} <= set(timings)
        for lr in LRS:
            name = f"{baseline}-{lr}"
            metrics = json.loads((root / f"metrics/cnn/{baseline}/{name}.json").read_text())
            assert metrics["baseline"] == baseline and metrics["lr"] == lr and 0 <= metrics["test_acc"] <= 1
            assert (root / f"predictions/cnn/{baseline}/{name}.csv").exists()
            assert (root / f"models/cnn/{baseline}/{name}.pt").exists()
            assert (root / f"plots/cnn/{baseline}/{name}/plots/metrics/train/loss.tsv").exists()
    metrics = json.loads((root / "metrics/cnn/probe/probe-0.01.json").read_text())
    assert "provenance" not in metrics
    first = params["replicates"]["first"]
    assert json.loads((root / "provenance/cnn_probe.json").read_text())["replicates_first"] == first
    check_cells_train_as_alone(root, params, stage)  # also: another process writes the same bytes
    check_probe_replicates(root, params, stage)
    result = ok(
        "xgb.py",
        [
            "--data",
            "data/faces/cache",
            "--metrics",
            "metrics/xgboost.json",
            "--predictions",
            "predictions/xgboost.csv",
            "--model",
            "models/xgboost.json",
            "--provenance",
            "provenance/xgboost.json",
            "--timings",
            "timings/xgboost.json",
        ],
    )
    assert result.returncode == 0, result.stderr
    assert "round 100/100" in result.stderr  # progress while it fits
    assert json.loads((root / "metrics/xgboost.json").read_text())["features"] == 3 * 16 * 16

    result = ok("cnn_evaluate.py", EVALUATE)
    assert result.returncode == 0, result.stderr
    chosen = json.loads((root / "out/selection.json").read_text())
    assert len(chosen["cells"]) == 6 and set(chosen["baselines"]) == {"scratch", "probe", "finetune"}
    probe_rows = [row for row in chosen["cells"] if row["baseline"] == "probe"]
    assert all(len(row["replicates"]) == params["replicates"]["probe"] for row in probe_rows)
    assert all("replicates" not in row for row in chosen["cells"] if row["baseline"] != "probe")
    assert chosen["xgboost"]["test_acc"] == json.loads((root / "metrics/xgboost.json").read_text())["test_acc"]
    best = chosen["baselines"][chosen["baseline_order"][0]]["best"]
    assert chosen["misclassified"]["best"]["cell"] == best["cell"]
    frame = pd.read_csv(root / f"predictions/cnn/{best['baseline']}/{best['cell']}.csv")
    test = frame[frame["split"] == "test"]
    wrong = test[test["label"] != test["prediction"]]["name"].tolist()
    assert [w["name"] for w in chosen["misclassified"]["best"]["images"]] == wrong
    by_lr = pd.read_csv(root / "out/by_lr.csv")
    assert list(by_lr["lr"]) == sorted(LRS) and {"scratch", "probe", "finetune", "xgboost"} <= set(by_lr.columns)
    check_evaluate_reads_the_cells_written(root, params, stage)


def check_evaluate_reads_the_cells_written(root, params, stage):
    """cnn_evaluate lists the cells the cnn stages wrote: cnn.lrs changed without rerunning them (DVC would rerun
    them first) cannot make it look for a cell that was never trained, and it reads no params at all."""
    selection = (root / "out/selection.json").read_bytes()
    changed = {**params, "cnn": {**params["cnn"], "lrs": [0.5, *LRS, 1e-6]}}
    assert stage("cnn_evaluate.py", EVALUATE, root, changed).returncode == 0
    assert (root / "out/selection.json").read_bytes() == selection
    empty = root / "metrics/cnn/scratch"
    empty.rename(root / "scratch-away")
    result = stage("cnn_evaluate.py", EVALUATE, root, params)
    (root / "scratch-away").rename(empty)
    assert result.returncode == 2 and "the scratch cells in" in result.stderr and "cnn_scratch" in result.stderr


def check_cells_train_as_alone(root, params, stage):
    """A cell trained after another in the same process equals the cell trained alone: nothing leaks between cells."""
    alone = root.parent / f"{root.name}-one-lr"
    alone.mkdir()
    (alone / "data").symlink_to(root / "data")
    one = {**params, "cnn": {**params["cnn"], "lrs": LRS[1:]}}
    assert stage("cnn.py", _baseline("scratch"), alone, one).returncode == 0
    name = f"scratch-{LRS[1]}"
    assert not (alone / f"metrics/cnn/scratch/scratch-{LRS[0]}.json").exists()
    for path in (f"metrics/cnn/scratch/{name}.json", f"predictions/cnn/scratch/{name}.csv"):
        assert (alone / path).read_bytes() == (root / path).read_bytes(), path


def check_probe_replicates(root, params, stage):
    """A probe cell runs replicates.probe replicates: the metrics are their mean with each replicate's beside it,
    and every replicate's weights and history are kept; replicate 0 is the cell run with one replicate."""
    import torch

    seeds = params["replicates"]["probe"]
    assert seeds >= 2
    metrics = json.loads((root / "metrics/cnn/probe/probe-0.01.json").read_text())
    reps = [metrics["replicates"][f"rep{k}"] for k in range(seeds)]
    assert metrics["seeds"] == [params["replicates"]["first"] + k for k in range(seeds)]
    assert metrics["test_acc"] == pytest.approx(sum(r["test_acc"] for r in reps) / seeds)
    weights = torch.load(root / "models/cnn/probe/probe-0.01.pt", weights_only=True)
    assert set(weights) == {f"rep{k}" for k in range(seeds)}
    assert any(not torch.equal(weights["rep0"][key], weights["rep1"][key]) for key in weights["rep0"])
    table = pd.read_csv(root / "plots/cnn/probe/probe-0.01/replicates.tsv", sep="\t")
    assert sorted(set(table["replicate"])) == [f"rep{k}" for k in range(seeds)]
    first = table[table["replicate"] == "rep0"]["train_loss"].iloc[-1]
    assert first == pytest.approx(reps[0]["final_train_loss"], rel=1e-12)
    alone = root.parent / f"{root.name}-one-replicate"
    alone.mkdir()
    (alone / "data").symlink_to(root / "data")
    one = {**params, "replicates": {**params["replicates"], "probe": 1}}
    assert stage("cnn.py", _baseline("probe"), alone, one).returncode == 0
    single = json.loads((alone / "metrics/cnn/probe/probe-0.01.json").read_text())
    assert "replicates" not in single and single["test_acc"] == reps[0]["test_acc"]
    assert single["final_train_loss"] == reps[0]["final_train_loss"]
    assert set(torch.load(alone / "models/cnn/probe/probe-0.01.pt", weights_only=True)) == set(weights["rep0"])


def test_missing_weights_stop_the_finetune_stage_with_one_line(workdir, stage, tmp_path):
    root, params = workdir
    bad = {**params, "cnn": {**params["cnn"], "arch": "resnet18"}}
    (tmp_path / "data").symlink_to(root / "data")
    result = stage("cnn.py", _baseline("finetune"), tmp_path, bad, env={"TORCH_HOME": str(tmp_path / "torch")})
    assert result.returncode == 2 and "resnet18-f37072fd.pth" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_replicates_side_by_side_write_the_cells_of_one_by_one(workdir, stage):
    """Two worker processes (NNREPRO_THREADS=2) write the same cell files, byte for byte, as the stage running every
    (lr, replicate) itself (NNREPRO_THREADS=1: one worker, in the stage), mean live histories included. Fine-tuning:
    the path scratch takes too, plus the weights file resolved once in the stage for the workers."""
    root, params, baseline = *workdir, "finetune"
    two = {**params, "replicates": {**params["replicates"], "cnn": 2}, "cnn": {**params["cnn"], "lrs": LRS[:1]}}
    written = {}
    for threads in ("1", "2"):
        folder = root.parent / f"{root.name}-{baseline}-threads{threads}"
        folder.mkdir()
        (folder / "data").symlink_to(root / "data")
        result = stage("cnn.py", _baseline(baseline), folder, two, env={"NNREPRO_THREADS": threads})
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("trained and scored") == 2  # a line per finished replicate
        files = [path for part in ("metrics", "predictions", "models", "plots") for path in (folder / part).rglob("*")]
        written[threads] = {str(p.relative_to(folder)): p.read_bytes() for p in files if p.is_file()}
    assert f"plots/cnn/{baseline}/{baseline}-{LRS[0]}/replicates.tsv" in written["1"]
    assert written["1"] == written["2"]
