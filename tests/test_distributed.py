"""Data-parallel CNN cells under torchrun on the CPU (gloo, 2 processes) against one process."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from test_cnn_stages import _baseline

pytestmark = pytest.mark.slow
PREVIOUS = b"earlier run\n"
# rank 1 dies in its first optimiser step
FAILING_RANK = (
    "import os\n"
    "if os.environ.get('RANK') == '1':\n"
    "    import torch\n"
    "    def fail(*a, **k):\n"
    "        raise RuntimeError('rank 1 lost its GPU')\n"
    "    torch.optim.Adam.step = fail\n"
)
# name -> (baseline, processes, a rank fails); longest first, two at a time: a one-process run or a torchrun start
# leaves a core idle that the other run fills
RUNS = {
    "scratch-2": ("scratch", 2, False),
    "probe-2": ("probe", 2, False),
    "failing-2": ("probe", 2, True),
    "scratch-1": ("scratch", 1, False),
    "probe-1": ("probe", 1, False),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    import yaml
    from conftest import ROOT, run_stage

    root = tmp_path_factory.mktemp("ddp")
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = {
        **base,
        "faces": {**base["faces"], "n_train": 64, "n_validation": 32, "n_test": 32, "image_size": 32},
        "cnn": {**base["cnn"], "image_size": 32, "batch_size": 16, "epochs": 2},
        "replicates": {**base["replicates"], "probe": 1, "cnn": 1},  # one process against two: one replicate shows it
    }
    assert run_stage("prepare_faces.py", ["--out", "data/faces"], root, params).returncode == 0
    result = run_stage(
        "probe_features.py",
        [
            "--data",
            "data/faces/cache",
            "--out",
            "data/features/probe.pt",
            "--provenance",
            "p.json",
            "--timings",
            "t.json",
        ],
        root,
        params,
    )
    assert result.returncode == 0, result.stderr
    return root, params


@pytest.fixture(scope="module")
def runs(workdir):
    """Every cell run of this file, each in its own folder (its params.yaml, data/ linked): name -> (result,
    folder). The failing run's folder holds an earlier run's metrics file before it starts."""
    from conftest import run_stage

    root, params = workdir

    def run(name):
        baseline, nproc, failing = RUNS[name]
        folder = root / name
        folder.mkdir()
        (folder / "data").symlink_to(root / "data")
        env = None
        if failing:
            (folder / "hook").mkdir()
            (folder / "hook" / "sitecustomize.py").write_text(FAILING_RANK)
            env = {"PYTHONPATH": f"{folder / 'hook'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
            (folder / "metrics" / "cnn" / baseline).mkdir(parents=True)
            (folder / "metrics" / "cnn" / baseline / f"{baseline}-0.01.json").write_bytes(PREVIOUS)
        cell_params = {**params, "cnn": {**params["cnn"], "nproc_per_node": nproc, "lrs": [0.01]}}
        return run_stage("cnn.py", _baseline(baseline), folder, cell_params, env), folder

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(RUNS, pool.map(run, RUNS)))


@pytest.mark.parametrize("baseline", ["probe", "scratch"])
def test_two_processes_train_like_one_and_write_once(runs, baseline):
    (one, out1), (two, out2) = runs[f"{baseline}-1"], runs[f"{baseline}-2"]
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    assert "2 processes under torchrun" in two.stderr and two.stderr.count("validation acc") == 1  # rank 0 only
    m1, m2 = (json.loads((o / f"metrics/cnn/{baseline}/{baseline}-0.01.json").read_text()) for o in (out1, out2))
    p1, p2 = (pd.read_csv(o / f"predictions/cnn/{baseline}/{baseline}-0.01.csv") for o in (out1, out2))
    if baseline == "probe":  # no BatchNorm: the same gradients up to the order of float sums
        assert (p1["probability"] - p2["probability"]).abs().max() < 1e-4
        assert m1["test_acc"] == m2["test_acc"] and abs(m1["final_train_loss"] - m2["final_train_loss"]) < 1e-5
    else:  # on the CPU each rank's BatchNorm normalises its half of a batch (SyncBatchNorm is CUDA-only): runs part
        assert abs(m1["test_acc"] - m2["test_acc"]) <= 0.2


def test_a_failing_rank_stops_the_stage_with_one_line_and_keeps_outputs(runs):
    result, folder = runs["failing-2"]
    assert result.returncode == 2 and "rank 1 lost its GPU" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cnn_probe: a process of the 2 under torchrun failed")
    assert (folder / "metrics/cnn/probe/probe-0.01.json").read_bytes() == PREVIOUS


@pytest.mark.parametrize("size, rows", [(2, 7), (3, 7), (2, 1), (4, 3)])
def test_rank_shares_partition_every_batch_and_average_to_the_full_batch_gradient(size, rows):
    import torch

    from nnrepro.runtime.distributed import World, share

    torch.manual_seed(0)
    x, y, net = torch.randn(rows, 5), torch.randn(rows, 1), torch.nn.Linear(5, 1)
    batch = torch.randperm(rows)
    shares = [share(batch, World(rank, size)) for rank in range(size)]
    real = torch.cat([idx for idx, scale in shares if scale > 0])
    assert sorted(real.tolist()) == sorted(batch.tolist())  # every row once, on one rank

    def grad(idx, scale=1.0):
        net.zero_grad()
        (torch.nn.functional.mse_loss(net(x[idx]), y[idx]) * scale).backward()
        return net.weight.grad.clone()

    averaged = sum(grad(idx, scale) for idx, scale in shares) / size  # what DDP's all-reduce computes
    assert torch.allclose(averaged, grad(batch), atol=1e-6)
