"""A tiny synthetic tree of every file the claims, figures and report stages read, laid out as dvc.yaml lays it out
and in the formats the training stages write (DVCLive step files, metrics JSON, CSV tables, npz meshes, the faces
cache, cnn_evaluate's selection and per-image predictions). The values are made up; metrics/claims.json comes from
the real claims stage."""

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import torch
import yaml

from nnrepro import imagecache, selection
from nnrepro.faces import predictions

ROOT = Path(__file__).resolve().parents[1]

# params.yaml of the tree: every key of the repository's params.yaml, tiny values.
PARAMS = {
    "data_seed": 0,
    "replicates": {"first": 0, "mlp": 1, "grad_probe": 3, "probe": 1, "cnn": 1},
    "device": "cpu",
    "lr": 0.001,
    "europe": {"source": "embedded", "csv_dir": "", "n_train": 40, "n_validation": 33, "n_test": 33},
    "mlp": {"depth": 6, "width": 16, "features": "xy", "batch_size": 16, "epochs": 6},
    "mlp_lr": {"lrs": [1, 0.01, 0.0001], "batchnorm": [False, True]},
    "mlp_long": {"epochs": 24},
    "mlp_batch": {"pairs": [[1, 1], [16, 1], [128, 3]], "first_epoch_evals": 4},
    "mlp_grid": {"depths": [1, 2, 6, 10], "widths": [8, 16, 32, 64]},
    "evaluate": {"select_from": "course", "mesh": 12},
    "grad_probe": {"depth": 12, "width": 4, "epochs": 3, "batch_size": 16, "layers": [0, 6, 11]},
    "faces": {"source": "embedded", "image_dir": "", "n_train": 8, "n_validation": 8, "n_test": 8, "image_size": 16},
    "cnn": {
        "arch": "mobilenet_v2",
        "lrs": [0.1, 0.01, 0.001, 0.0001],
        "epochs": 1,
        "batch_size": 4,
        "image_size": 16,
        "weights_path": "",
        "allow_download": False,
        "memory_mb": 4096,
        "nproc_per_node": 1,
    },
    "xgboost": {"crop": 16},
    "figures": {"dpi": 30},
}
SPLITS = ("train", "validation", "test")
# Wall-clock seconds per epoch of the batch pairs: distinctive, so a test can prove the report never prints them.
SECONDS_PER_EPOCH = {"b1-e1": 123.456, "b16-e1": 45.678, "b128-e3": 9.876}
WALL_SECONDS = 321.987
CPU = {
    "device": "cpu",
    "numpy": "2.4.6",
    "platform": "x86_64",
    "python": "3.11.7",
    "replicates_first": 0,
    "torch": "2.14.1",
}
CUDA = {**CPU, "device": "cuda", "torch": "2.14.1+cu130"}
FACE_NAMES = [f"test/{'1_fake' if i >= 4 else '0_real'}/{i:05d}.png" for i in range(8)]
FACE_LABELS = [int(i >= 4) for i in range(8)]


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# ------------------------------------------------------------------ training runs (DVCLive + summary metrics)


def history(val_loss: list, epochs: list | None = None) -> dict:
    """{'epoch', 'train_loss', ...} from a validation-loss curve: train a little lower, test a little higher,
    accuracy 1 - loss / 4; a None loss (the diverged step) is NaN on every split, as a blown-up model gives."""
    epochs = epochs or [float(e) for e in range(1, len(val_loss) + 1)]
    rows = {"epoch": list(epochs)}
    for split, shift in zip(SPLITS, (-0.05, 0.0, 0.02)):
        loss = [float("nan") if v is None else round(v + shift, 6) for v in val_loss]
        rows[f"{split}_loss"], rows[f"{split}_acc"] = loss, [round(1 - v / 4, 6) for v in loss]
    return rows


def write_live(folder: Path, rows: dict) -> None:
    """DVCLive's step files: key 'validation_loss' -> <folder>/validation/loss.tsv, columns step and the leaf."""
    for key, values in rows.items():
        path = folder / (key.replace("_", "/", 1) + ".tsv")
        path.parent.mkdir(parents=True, exist_ok=True)
        leaf = path.stem
        path.write_text(f"step\t{leaf}\n" + "".join(f"{i}\t{float(v)!r}\n" for i, v in enumerate(values)))


def summary(rows: dict, diverged: bool = False) -> dict:
    """A training run's summary record, as the MLP stages write it: final and best-validation-epoch values
    (non-finite as null)."""
    finite = [i for i, v in enumerate(rows["validation_acc"]) if np.isfinite(v)]
    best = max(finite, key=lambda i: rows["validation_acc"][i])
    out = {"diverged": diverged, "epochs_run": rows["epoch"][-1], "best_epoch": rows["epoch"][best]}
    for key in rows:
        if key != "epoch":
            final = rows[key][-1]
            out[f"final_{key}"] = final if np.isfinite(final) else None
            out[f"best_{key}"] = rows[key][best]
    return out


def train_run(live_dir: Path, val_loss: list, epochs: list | None = None, diverged: bool = False) -> dict:
    """One training run: its DVCLive folder (<live_dir>/plots/metrics) written, its summary returned."""
    rows = history(val_loss, epochs)
    write_live(live_dir / "plots" / "metrics", rows)
    return summary(rows, diverged)


def wiggle(start: float, end: float, n: int, amplitude: float) -> list:
    """A descending curve with `amplitude` peaks on every other evaluation (0: monotone)."""
    return [round(v, 6) for v in np.linspace(start, end, n) + amplitude * (np.arange(n) % 2)]


# Validation loss per (lr, batchnorm): plain lr 1 diverges at its third evaluation, BatchNorm lr 1 is unstable and
# collapses (its final validation accuracy, 1 - 3.3 / 4, is the largest class's share: see write_europe).
LR_CURVES = {
    (1, False): [3.5, 3.45, None],
    (0.01, False): wiggle(3.5, 1.0, 6, 0.8),
    (0.0001, False): wiggle(3.5, 2.8, 6, 0.0),
    (1, True): wiggle(3.5, 2.5, 6, 0.8),
    (0.01, True): wiggle(3.5, 0.9, 6, 0.0),
    (0.0001, True): wiggle(3.3, 2.0, 6, 0.0),
}


def write_mlp_runs(root: Path) -> None:
    for (lr, bn), curve in LR_CURVES.items():
        cell = f"lr{lr}-bn{str(bn).lower()}"  # as DVC renders lr${item.lr}-bn${item.batchnorm}
        record = train_run(root / "plots/mlp_lr" / cell, curve, diverged=curve[-1] is None)
        write_json(root / "metrics/mlp_lr" / f"{cell}.json", {"lr": lr, "batchnorm": bn, **record})
    steep = list(np.linspace(3.5, 0.8, 10))
    long = {
        "plain": [round(v, 6) for v in steep + [0.78 + 0.04 * (e % 2) for e in range(14)]],
        "batchnorm": [round(v, 6) for v in steep + list(np.linspace(0.78, 0.7, 14))],
    }
    write_json(
        root / "metrics/mlp_long.json",
        {name: train_run(root / "plots/mlp_long" / name, curve) for name, curve in long.items()},
    )
    batch = {}
    for (size, epochs), first, final in zip(PARAMS["mlp_batch"]["pairs"], (1.5, 2.5, 3.2), (0.8, 1.6, 1.2)):
        steps = [0.25, 0.5, 0.75, 1.0] + [float(e) for e in range(2, epochs + 1)]
        name = f"b{size}-e{epochs}"
        record = train_run(root / "plots/mlp_batch" / name, wiggle(first, final, len(steps), 0.0), steps)
        batch[name] = {"batch_size": size, "epochs": epochs, "iterations_per_epoch": -(-1000 // size), **record}
    write_json(root / "metrics/mlp_batch.json", batch)
    write_json(
        root / "timings/mlp_batch.json",
        {
            "wall_seconds": WALL_SECONDS,
            **{f"{n}_seconds_per_epoch": s for n, s in SECONDS_PER_EPOCH.items()},
            **{f"{n}_seconds": s * 3 for n, s in SECONDS_PER_EPOCH.items()},
        },
    )


# ------------------------------------------------------------------ evaluate (the depth x width grid)


def grid_accuracy(depth: int, width: int) -> tuple | None:
    """(train, validation, test) of a cell: deeper is better up to 6, width 32 the sweet spot, 64 overfits;
    d1-w64 diverged (None)."""
    if (depth, width) == (1, 64):
        return None
    val = {1: 0.5, 2: 0.6, 6: 0.8, 10: 0.805}[depth] + {8: -0.05, 16: 0.0, 32: 0.05, 64: 0.02}[width]
    return round(val + (0.1 if width == 64 else 0.01), 6), round(val, 6), round(val - 0.005, 6)


def mesh(resolution: int, shift: int) -> dict:
    lon, lat = np.linspace(-10, 40, resolution), np.linspace(35, 70, resolution * 3 // 4)
    return {
        "lon": lon,
        "lat": lat,
        "labels": ((np.add.outer(np.arange(len(lat)), np.arange(len(lon))) + shift) % 33).astype(np.uint8),
    }


def write_evaluate(root: Path) -> None:
    out, depths, widths = root / "plots/evaluate", PARAMS["mlp_grid"]["depths"], PARAMS["mlp_grid"]["widths"]
    out.mkdir(parents=True, exist_ok=True)
    header = (
        "cell,depth,width,diverged,final_train_acc,final_validation_acc,final_test_acc,final_train_loss,"
        "final_validation_loss,final_test_loss"
    )
    rows = {}
    for d in depths:
        for w in widths:
            acc = grid_accuracy(d, w)
            rows[(d, w)] = [
                f"d{d}-w{w}",
                d,
                w,
                acc is None,
                *(acc or ("",) * 3),
                *(tuple(round(4 * (1 - a), 6) for a in acc) if acc else ("",) * 3),
            ]
    (out / "grid.csv").write_text("\n".join([header] + [",".join(map(str, r)) for r in rows.values()]) + "\n")
    for row in rows.values():  # mlp_grid's metrics: one seed, so each cell's only replicate is its summary
        finals = dict(zip(header.split(",")[3:], row[3:]))
        summary = {k: (None if v == "" else v) for k, v in finals.items()}
        write_json(
            root / "metrics/mlp_grid" / f"{row[0]}.json",
            {"depth": row[1], "width": row[2], **summary, "replicates": {"rep0": summary}},
        )
    width, depth = PARAMS["mlp"]["width"], PARAMS["mlp"]["depth"]
    for axis, keys in (("depth", [(d, width) for d in depths]), ("width", [(depth, w) for w in widths])):
        lines = [f"{axis},final_train_acc,final_validation_acc,final_test_acc"]
        lines += [",".join(map(str, [rows[k][1 if axis == "depth" else 2], *rows[k][4:7]])) for k in keys]
        (out / f"acc_vs_{axis}.csv").write_text("\n".join(lines) + "\n")
    best, worst = (6, 32), (1, 16)  # by validation accuracy among the course's cells (width 16 or depth 6)
    record = {"select_from": "course", "depth_slice_width": width, "width_slice_depth": depth}
    for rank, (d, w), shift, curve in (
        ("best", best, 0, wiggle(3.0, 0.6, 6, 0.0)),
        ("worst", worst, 5, wiggle(3.4, 2.0, 6, 0.1)),
    ):
        write_live(out / f"{rank}_history", history(curve))  # evaluate copies plots/metrics as it is
        np.savez(out / f"{rank}_boundary.npz", **mesh(PARAMS["evaluate"]["mesh"], shift))
        record[f"{rank}_cell"] = f"d{d}-w{w}"
        for split, acc in zip(SPLITS, grid_accuracy(d, w)):
            record.update({f"{rank}_{split}_acc": acc, f"{rank}_{split}_loss": round(4 * (1 - acc), 6)})
    write_json(root / "metrics/evaluate.json", record)


# ------------------------------------------------------------------ grad_probe, mlp_sine, the Europe test points

# [seed][epoch][layer] over layers 0, 6, 11 of 12: plain's early layers vanish (layer 0 exactly 0 in 6 of its 9
# values), its last layer stays alive; residual keeps every layer alive.
PLAIN_GRADS = [
    [[0.0, 1e-7, 1e-2], [0.0, 2e-7, 2e-2], [1e-9, 1e-7, 1e-2]],
    [[0.0, 3e-7, 3e-2], [2e-9, 1e-7, 2e-2], [3e-9, 2e-7, 1e-2]],
    [[0.0, 1e-7, 2e-2], [0.0, 1e-7, 1e-2], [0.0, 1e-7, 2e-2]],
]
RESIDUAL_GRADS = [
    [[0.5, 0.2, 0.1], [0.4, 0.2, 0.1], [0.3, 0.1, 0.05]],
    [[0.6, 0.3, 0.2], [0.5, 0.2, 0.1], [0.4, 0.2, 0.1]],
    [[0.4, 0.2, 0.1], [0.3, 0.1, 0.1], [0.3, 0.1, 0.05]],
]


def write_probe(root: Path) -> None:
    config = PARAMS["grad_probe"]
    first, count = PARAMS["replicates"]["first"], PARAMS["replicates"]["grad_probe"]
    curves = {"depth": config["depth"], "layers": config["layers"], "seeds": list(range(first, first + count))}
    for name, grads, dead in (("plain", PLAIN_GRADS, [0.5, 0.25, 0.0]), ("residual", RESIDUAL_GRADS, [0.25, 0.0, 0.0])):
        curves[name] = {
            "grad_sq_norm": grads,
            "dead_fraction": [[dead] * len(seed) for seed in grads],
            "final_validation_acc": [0.3, 0.31, 0.29],
            "diverged": [False] * len(grads),
        }
    write_json(root / "plots/grad_probe/probe.json", curves)


def write_sine(root: Path) -> None:
    records = {}
    for shift, (name, final) in enumerate((("xy", 1.4), ("sine", 0.6))):
        records[name] = train_run(root / "plots/mlp_sine" / name, wiggle(3.0, final, 6, 0.0))
        # the evaluate stage draws the sine models' boundaries beside the grid's
        np.savez(root / "plots/evaluate" / f"{name}_boundary.npz", **mesh(PARAMS["evaluate"]["mesh"], shift))
    write_json(root / "metrics/mlp_sine.json", records)


def write_europe(root: Path) -> None:
    def square(x: int, y: int) -> list:
        return [[x, y], [x + 8, y], [x + 8, y + 6], [x, y + 6], [x, y]]

    write_json(root / "data/europe/outlines.json", {"AA": [square(0, 40)], "BB": [square(15, 50), square(30, 60)]})
    lines = [",long,lat,country"] + [f"{i},{-5 + 1.2 * i:.6f},{36 + 0.9 * i:.6f},{i}" for i in range(33)]
    (root / "data/europe/test.csv").write_text("\n".join(lines) + "\n")
    # the largest class's share 7 / 40 = 0.175 is BatchNorm lr 1's final validation accuracy: that run collapsed
    extra = [f"{33 + i},10.0,45.0,32" for i in range(6)] + ["39,-5.0,36.0,0"]
    (root / "data/europe/validation.csv").write_text("\n".join(lines + extra) + "\n")


# ------------------------------------------------------------------ faces and the CNN study

# (validation, test) accuracy per (baseline, lr); None: the cell diverged.
CNN_ACCURACY = {
    "scratch": {0.1: (0.52, 0.515), 0.01: (0.49, 0.49), 0.001: (0.56, 0.5675), 0.0001: (0.5, 0.5)},
    "probe": {0.1: (0.72, 0.7125), 0.01: (0.7, 0.69), 0.001: (0.68, 0.6775), 0.0001: (0.5, 0.4975)},
    "finetune": {0.1: None, 0.01: (0.6, 0.6), 0.001: (0.8, 0.79), 0.0001: (0.87, 0.8675)},
}
XGBOOST = {"validation_acc": 0.74, "test_acc": 0.73}


def write_faces(root: Path) -> None:
    images = torch.randint(
        0, 256, (len(FACE_NAMES), 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    imagecache.store(
        {"test": {"images": images, "labels": FACE_LABELS, "names": list(FACE_NAMES)}}, root / "data/faces/cache"
    )


def fake_probabilities(accuracy, rng) -> np.ndarray:
    """P(fake) per test image: round((1 - accuracy) * n) images wrong; a diverged cell gives NaN."""
    labels, n = np.array(FACE_LABELS), len(FACE_LABELS)
    if accuracy is None:
        return np.full(n, np.nan)
    wrong = rng.choice(n, round((1 - accuracy) * n), replace=False)
    correct = np.where(labels == 1, 0.9, 0.1)
    correct[wrong] = np.where(labels[wrong] == 1, 0.3, 0.8)
    return correct


def write_cnn_selection(root: Path) -> None:
    """plots/cnn_evaluate/selection.json as cnn_evaluate writes it: the rows it collects, the misclassified images
    from each cell's predictions (predictions/cnn/<baseline>/<cell>.csv, validation and test), and selection.cnn's
    choice."""
    rng, rows, wrong = np.random.default_rng(0), [], {}
    names = {"validation": [n.replace("test/", "val/") for n in FACE_NAMES], "test": FACE_NAMES}
    data = {split: {"names": names[split], "labels": np.array(FACE_LABELS)} for split in names}
    for baseline, by_lr in CNN_ACCURACY.items():
        for lr, acc in by_lr.items():
            name = f"{baseline}-{lr}"
            rows.append(
                {
                    "cell": name,
                    "baseline": baseline,
                    "lr": lr,
                    "diverged": acc is None,
                    "validation_acc": acc and acc[0],
                    "test_acc": acc and acc[1],
                }
            )
            frame = predictions.frame(
                data, {split: fake_probabilities(acc and acc[i], rng) for i, split in enumerate(names)}
            )
            (root / "predictions/cnn" / baseline).mkdir(parents=True, exist_ok=True)
            frame.to_csv(root / "predictions/cnn" / baseline / f"{name}.csv", index=False)
            wrong[name] = predictions.misclassified(frame)
    write_json(root / "plots/cnn_evaluate/selection.json", selection.cnn(rows, dict(XGBOOST), wrong))


# ------------------------------------------------------------------ provenance, params, course, claims


def write_records(root: Path) -> None:
    for path, record in (
        ("mlp_long", CPU),
        ("mlp_batch", CPU),
        ("evaluate", CPU),
        ("grad_probe", CPU),
        ("mlp_sine", CPU),
        ("mlp_lr/lr0.01-bnfalse", CPU),
        ("cnn_finetune", CUDA),
        ("xgboost", CUDA),
    ):
        write_json(root / "provenance" / f"{path}.json", record)
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    (root / "reference").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "reference/course_report.yaml", root / "reference/course_report.yaml")
    shutil.copy(ROOT / "reference/thresholds.yaml", root / "reference/thresholds.yaml")
    shutil.copy(ROOT / "constraints.txt", root / "constraints.txt")


def stage_args(stage: str) -> list:
    """The stage's arguments exactly as dvc.yaml writes them (paths relative to the repository root)."""
    cmd = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["cmd"]
    return shlex.split(cmd)[2:]


def stage_paths(stage: str, root: Path) -> dict:
    """dvc.yaml's paths of a stage by option: '--mlp-lr a b' -> {'mlp_lr': (root/a, root/b)}; one path unwrapped."""
    paths, name = {}, None
    for arg in stage_args(stage):
        if arg.startswith("--"):
            name = arg[2:].replace("-", "_")
            paths[name] = []
        else:
            paths[name].append(Path(root) / arg)
    return {k: v[0] if len(v) == 1 else tuple(v) for k, v in paths.items()}


def run_claims(root: Path) -> None:
    """metrics/claims.json and metrics/headline.json through the real claims stage."""
    from conftest import run_stage

    result = run_stage("claims.py", stage_args("claims"), root, None)
    if result.returncode != 0:
        raise RuntimeError(f"the claims stage failed on the synthetic tree:\n{result.stderr}")


def build(root) -> Path:
    """Write the whole tree under `root` (params.yaml included) and run the claims stage on it; returns root."""
    root = Path(root)
    write_records(root)
    write_mlp_runs(root)
    write_evaluate(root)
    write_probe(root)
    write_sine(root)
    write_europe(root)
    write_faces(root)
    write_cnn_selection(root)
    run_claims(root)
    return root
