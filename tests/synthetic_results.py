"""A tiny synthetic tree of every output the figures and report stages read, laid out as dvc.yaml lays it out."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nnrepro import cnn_table, figures

PARAMS = {
    "seed": 0, "device": "cpu", "lr": 0.001,
    "europe": {"source": "embedded", "csv_dir": "", "n_train": 10, "n_validation": 10, "n_test": 10},
    "mlp": {"depth": 2, "width": 8, "features": "xy", "batch_size": 8, "epochs": 4},
    "mlp_lr": {"lrs": [1, 0.01, 0.0001], "batchnorm": [False, True]},
    "mlp_long": {"epochs": 6},
    "mlp_batch": {"pairs": [[1, 1], [16, 1], [128, 3]], "one_epoch_evals": 4},
    "mlp_grid": {"depths": [1, 2], "widths": [8, 16]},
    "evaluate": {"mesh": 20},
    "grad_probe": {"depth": 12, "width": 4, "epochs": 3, "batch_size": 8, "layers": [0, 6, 11]},
    "faces": {"source": "embedded", "image_dir": "", "n_train": 4, "n_val": 4, "n_test": 8, "image_size": 16},
    "cnn": {"arch": "mobilenet_v2", "lrs": [0.1, 0.001], "epochs": 1, "batch_size": 4, "image_size": 16,
            "weights_path": "", "allow_download": False},
    "xgboost": {"crop": 16},
    "figures": {"dpi": 40},
}
PROVENANCE = {"seed": 0, "device": "cpu", "python": "3.11", "torch": "2", "numpy": "2", "platform": "x86_64"}
SPLITS = ("train", "validation", "test")


def _json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def history(losses: dict, epochs=None) -> dict:
    """{column: values} with accuracy columns derived from the losses, and an epoch column."""
    n = len(next(iter(losses.values())))
    out = {"epoch": list(epochs if epochs is not None else np.arange(1, n + 1, dtype=float))}
    for split, values in losses.items():
        out[f"{split}/loss"] = list(values)
        out[f"{split}/acc"] = [float(np.exp(-v)) for v in values]
    return out


def write_live(folder: Path, columns: dict) -> None:
    """DVCLive's layout: <folder>/plots/metrics/<name>.tsv with columns step, <leaf name>."""
    for name, values in columns.items():
        path = folder / "plots" / "metrics" / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        leaf = name.split("/")[-1]
        pd.DataFrame({"step": range(len(values)), leaf: values}).to_csv(path, sep="\t", index=False)


def summary(columns: dict, diverged: bool = False) -> dict:
    final = {f"final_{k.replace('/', '_')}": (None if diverged else v[-1]) for k, v in columns.items() if "/" in k}
    return {"diverged": diverged, "epochs_run": columns["epoch"][-1], "best_epoch": columns["epoch"][-1], **final,
            **{k.replace("final_", "best_"): v for k, v in final.items()}}


def run(root: Path, metrics: Path | None, live: Path, losses: dict, extra=None, diverged=False, epochs=None):
    columns = history(losses, epochs)
    write_live(live, columns)
    record = {**(extra or {}), **summary(columns, diverged)}
    if metrics is not None:
        _json(metrics, {**record, "provenance": PROVENANCE})
    return record


def curve(start: float, end: float, n: int, wiggle: float = 0.0) -> np.ndarray:
    return np.linspace(start, end, n) + wiggle * (-1) ** np.arange(n)


def mesh() -> dict:
    lon, lat = np.linspace(-10, 40, 12), np.linspace(35, 70, 10)
    return {"lon": lon, "lat": lat, "labels": (np.add.outer(np.arange(10), np.arange(12)) % 33).astype(np.uint8)}


def build(root: Path) -> Path:
    """Write the whole tree under `root`; returns root."""
    root = Path(root)
    for bn in (False, True):
        for lr in PARAMS["mlp_lr"]["lrs"]:
            cell = f"lr{lr}-bn{str(bn).lower()}"
            diverged = lr == 1 and not bn
            n = 2 if diverged else 4
            wig = 0.0 if bn else 0.05
            losses = {s: curve(3.0, 3.0 if lr == 1 else 3.0 - lr * 50 - 0.5, n, wig) for s in SPLITS}
            run(root, root / "metrics/mlp_lr" / f"{cell}.json", root / "plots/mlp_lr" / cell, losses,
                {"lr": lr, "batchnorm": bn}, diverged)
    long = {}
    for name, wig in (("plain", 0.05), ("batchnorm", 0.0)):
        long[name] = run(root, None, root / "plots/mlp_long" / name, {s: curve(2, 0.5, 6, wig) for s in SPLITS})
    _json(root / "metrics/mlp_long.json", {**long, "provenance": PROVENANCE})
    batch, timings = {}, {}
    for (size, epochs), (end, seconds) in zip(PARAMS["mlp_batch"]["pairs"], ((0.5, 50.0), (1.0, 5.0), (0.3, 0.5))):
        name = f"b{size}-e{epochs}"
        steps = np.linspace(0.25, 1, 4) if epochs == 1 else np.arange(1.0, epochs + 1)
        batch[name] = run(root, None, root / "plots/mlp_batch" / name,
                          {s: curve(2, end, len(steps)) for s in SPLITS},
                          {"batch_size": size, "epochs": epochs, "iterations_per_epoch": 100 // size + 1},
                          epochs=steps)
        timings[f"{name}_seconds_per_epoch"] = seconds
    _json(root / "metrics/mlp_batch.json", {**batch, "provenance": PROVENANCE})
    _json(root / "timings/mlp_batch.json", timings)
    write_evaluate(root)
    for variant, early in (("plain", [0.0, 0.0, 1e-9]), ("residual", [1e-2, 2e-2, 3e-2])):
        layers = {0: early, 6: [1e-4, 1e-4, 0.0], 11: [1e-1, 2e-1, 1e-1]}
        write_live(root / "plots/grad_probe" / variant, {f"grad_sq_norm/layer_{i}": v for i, v in layers.items()})
    _json(root / "metrics/grad_probe.json", {"plain": {}, "residual": {}, "provenance": PROVENANCE})
    (root / "plots/mlp_sine").mkdir(parents=True, exist_ok=True)
    for name in ("xy", "sine"):
        np.savez(root / "plots/mlp_sine" / f"{name}_boundary.npz", **mesh())
    _json(root / "metrics/mlp_sine.json", {"xy": {"final_test_acc": 0.8}, "sine": {"final_test_acc": 0.9},
                                           "provenance": PROVENANCE})
    write_europe(root)
    write_cnn(root)
    return root


def write_evaluate(root: Path) -> None:
    out = root / "plots/evaluate"
    out.mkdir(parents=True, exist_ok=True)
    rows = [{"cell": f"d{d}-w{w}", "depth": d, "width": w, "final_validation_acc": 0.5 + 0.1 * d + w / 100,
             "final_test_acc": 0.5 + 0.1 * d} for d in (1, 2) for w in (8, 16)]
    grid = pd.DataFrame(rows)
    grid.to_csv(out / "grid.csv", index=False)
    for rank in ("best", "worst"):
        pd.DataFrame(history({s: curve(2, 1, 4) for s in SPLITS})).to_csv(out / f"{rank}_history.csv", index=False)
        np.savez(out / f"{rank}_boundary.npz", **mesh())
    grid[grid["width"] == 16][["depth", "final_validation_acc", "final_test_acc"]].to_csv(out / "acc_vs_depth.csv",
                                                                                          index=False)
    grid[grid["depth"] == 2][["width", "final_validation_acc", "final_test_acc"]].to_csv(out / "acc_vs_width.csv",
                                                                                        index=False)
    _json(root / "metrics/evaluate.json", {
        "best_cell": "d2-w16", "worst_cell": "d1-w8", "best_validation_acc": 0.86, "best_test_acc": 0.7,
        "worst_validation_acc": 0.68, "worst_test_acc": 0.6, "depth_slice_width": 16, "width_slice_depth": 2,
        "provenance": PROVENANCE})


def write_europe(root: Path) -> None:
    folder = root / "data/europe"
    folder.mkdir(parents=True, exist_ok=True)
    square = [[0, 40], [10, 40], [10, 50], [0, 50], [0, 40]]
    _json(folder / "outlines.json", {"Nowhere": [square]})
    points = pd.DataFrame({"long": np.linspace(-5, 35, 33), "lat": np.linspace(36, 68, 33), "country": range(33)})
    points.to_csv(folder / "test.csv")


def write_cnn(root: Path) -> None:
    accuracy = {("scratch", 0.1): 0.5, ("scratch", 0.001): 0.52, ("probe", 0.1): 0.8, ("probe", 0.001): 0.7,
                ("finetune", 0.1): 0.6, ("finetune", 0.001): 0.9}
    rows = []
    for (baseline, lr), acc in accuracy.items():
        name = cnn_table.cell_name(baseline, lr)
        _json(root / "metrics/cnn" / f"{name}.json", {"baseline": baseline, "lr": lr, "diverged": False,
                                                     "val_accuracy": acc, "test_accuracy": acc,
                                                     "provenance": PROVENANCE})
        rows.append({"cell": name, "baseline": baseline, "lr": lr, "val_accuracy": acc, "test_accuracy": acc})
    xgb = {"val_accuracy": 0.65, "test_accuracy": 0.66}
    _json(root / "metrics/xgboost.json", {**xgb, "provenance": PROVENANCE})
    n = 8
    labels = torch.tensor([0, 1] * (n // 2))
    names = [f"test/{'1_fake' if l else '0_real'}/{i:05d}.png" for i, l in enumerate(labels.tolist())]
    images = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    (root / "data/faces").mkdir(parents=True, exist_ok=True)
    torch.save({"test": {"images": images, "labels": labels, "names": names}}, root / "data/faces/cache.pt")
    out = root / "plots/cnn_evaluate"
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(cnn_table.markdown(cnn_table.select(pd.DataFrame(rows)), xgb))
    wide = pd.DataFrame({"split": "test", "name": names, "label": labels.numpy()})
    for row in rows:
        wide[row["cell"]] = np.where(np.arange(n) % 3 == 0, 1 - wide["label"], wide["label"]) * 0.8 + 0.1
    wide.to_csv(out / "predictions.csv", index=False)
    for which in ("best", "worst"):
        figures.save(figures.Figure(figsize=(2, 2)), out / f"misclassified_{which}.png")


def stage_args(stage: str) -> list:
    """The stage's arguments exactly as dvc.yaml writes them (paths relative to the repository root)."""
    import shlex

    import yaml

    cmd = yaml.safe_load((Path(__file__).resolve().parents[1] / "dvc.yaml").read_text())["stages"][stage]["cmd"]
    return shlex.split(cmd)[2:]
