"""nnrepro's hot paths beside the naive references of bench/naive.py: each case alternates naive and ours (same
data, model, epochs and thread count), reports medians and the ratio, and both sides' accuracy. Used by bench/run.py.
"""

import statistics
import time
from pathlib import Path

import naive
import torch

from nnrepro import imagecache
from nnrepro.cells import CNN_BASELINES
from nnrepro.europe import gradients, loop, points
from nnrepro.europe.mlp import MLP
from nnrepro.faces import cnn, images, xgb
from nnrepro.runtime.device import thread_count

SEED, LR = 0, 1e-3
NAIVE_EPOCH = {"depth": 6, "width": 16, "batch_size": 256, "epochs": 1, "lr": LR, "seed": SEED}  # the unit
EUROPE = {"train": 106897, "validation": 13363, "test": 13363}  # params.yaml's europe sizes
FACES = {"train": 1400, "validation": 200, "test": 400}  # the course's image counts
CNN_LRS = (0.1, 0.01, 0.001, 0.0001, 0.00001)
CNN = cnn.CnnSettings(arch="mobilenet_v2", epochs=1, batch_size=32, image_size=64)  # params.yaml's cnn
PROBE_LAYERS = [0, 30, 60, 90, 95, 99]  # params.yaml's grad_probe.layers


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def side_by_side(name: str, naive_fn, ours_fn, repeats: int, unit: str = "s") -> dict:
    """Alternate naive and ours; each fn returns an accuracy (or None)."""
    times = {"naive": [], "ours": []}
    accuracy = {}
    for r in range(repeats):
        for label, fn in (("naive", naive_fn), ("ours", ours_fn)):
            seconds, accuracy[label] = timed(fn)
            times[label].append(seconds)
            print(f"{name}: {label} run {r + 1}/{repeats}: {seconds:.2f} s, accuracy {accuracy[label]}", flush=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"case": name, "naive": medians["naive"], "ours": medians["ours"],
            "ratio": medians["naive"] / medians["ours"], "acc_naive": accuracy["naive"],
            "acc_ours": accuracy["ours"], "unit": unit}


# ---------------------------------------------------------------- the MLP

def europe_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for split, frame in points.generate(EUROPE, SEED).items():
        (folder / f"{split}.csv").write_text(points.to_csv_text(frame))
    return folder


def ours_mlp(splits, depth=6, width=16, batch_size=256, epochs=1):
    torch.manual_seed(SEED)
    model = MLP(depth, width, points.NUM_CLASSES)
    history = loop.train(model, splits, lr=LR, epochs=epochs, batch_size=batch_size, seed=SEED)
    return round(history[-1].get("validation_acc", history[-1]["train_acc"]), 4)


def ours_probe(splits) -> None:
    torch.manual_seed(SEED)
    gradients.train_with_probe(MLP(100, 4, points.NUM_CLASSES), {"train": splits["train"]}, PROBE_LAYERS,
                               lr=LR, epochs=1, batch_size=256, seed=SEED)


def naive_epoch(data: Path) -> float:
    """One course-style epoch (MLP 6x16, batch 256, with evaluation); returns its validation accuracy."""
    return round(naive.mlp_epochs(data, **NAIVE_EPOCH)[0], 4)


def naive_epoch_seconds(data: Path, repeats: int) -> float:
    """Median seconds of naive_epoch on one thread (what the MLP stages use): the unit of the repro goal."""
    torch.set_num_threads(1)
    return statistics.median(timed(lambda: naive_epoch(data))[0] for _ in range(repeats))


def mlp_cases(data: Path, repeats: int, skip: set) -> dict:
    """Case name -> side-by-side row for the MLP cases not skipped."""
    torch.set_num_threads(1)  # the same for both: what the MLP stages use
    splits = points.load_splits(data, torch.device("cpu"))
    naive_run = {"depth": 6, "width": 16, "epochs": 1, "lr": LR, "seed": SEED, "evaluate_splits": False}
    rows = {}
    if "mlp" not in skip:
        rows["mlp"] = side_by_side("MLP 6x16, one epoch at batch 256 (107k rows), with evaluation",
                                   lambda: naive_epoch(data), lambda: ours_mlp(splits), repeats)
    if "batch1" not in skip:
        subset = {"train": (splits["train"][0][:10000], splits["train"][1][:10000])}
        rows["batch1"] = side_by_side(
            "Batch size 1: 10,000 optimizer steps",
            lambda: naive.mlp_epochs(data, **naive_run, batch_size=1, rows=10000)[0],
            lambda: ours_mlp(subset, batch_size=1) and None, repeats)
    if "probe" not in skip:
        rows["probe"] = side_by_side(
            "Gradient probe: one epoch of the 100x4 MLP, 6 layers probed",
            lambda: naive.mlp_epochs(data, **{**naive_run, "depth": 100, "width": 4}, batch_size=256,
                                     probe_layers=PROBE_LAYERS)[0],
            lambda: ours_probe(splits), repeats)
    return rows


# ---------------------------------------------------------------- the CNN sweep and XGBoost

def ours_cnn(folder: Path, lrs) -> str:
    """The pipeline's path: the cache once, probe features once, every cell, XGBoost on the cache's pixels."""
    dev = torch.device("cpu")
    cache = images.load_cache(folder / images.CACHE)
    features = cnn.probe_features(cache, CNN, dev)
    best = 0.0
    for baseline in CNN_BASELINES:
        source = features if baseline == "probe" else cache
        for lr in lrs:
            net, _ = cnn.fit_cell(baseline, source, CNN, lr, SEED, dev)
            probs = cnn.evaluate_cell(net, baseline, source, CNN, dev)["test"]
            best = max(best, float(((probs > 0.5).long() == source["test"]["labels"]).float().mean()))
    arrays = imagecache.load(folder / images.CACHE)
    model = xgb.fit(arrays["train"]["images"], arrays["train"]["labels"], 64, SEED, thread_count())
    xgb_acc = float(((xgb.predict(model, arrays["test"]["images"], 64) > 0.5) == arrays["test"]["labels"]).mean())
    return f"best cell {best:.3f}, xgboost {xgb_acc:.3f}"


def naive_cnn(folder: Path, lrs) -> str:
    best = max(naive.cnn_cell(folder, baseline, lr, CNN, SEED)["test"] for baseline in CNN_BASELINES for lr in lrs)
    xgb_acc = naive.xgboost_pixels(folder, 64, SEED, thread_count())
    return f"best cell {best:.3f}, xgboost {xgb_acc:.3f}"


def cnn_case(folder: Path, repeats: int, sizes: dict = FACES, lrs=CNN_LRS) -> dict:
    """15 cells (scratch, probe, finetune x 5 learning rates) plus XGBoost, default 64 px, on the CPU."""
    torch.set_num_threads(thread_count())
    images.write(folder, images.generate(sizes, 64, SEED))
    return side_by_side("CNN sweep on the CPU, 64 px: 15 cells + XGBoost", lambda: naive_cnn(folder, lrs),
                        lambda: ours_cnn(folder, lrs), repeats)
