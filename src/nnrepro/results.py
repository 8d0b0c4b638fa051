"""Reading the pipeline's tracked outputs (metrics, DVCLive histories, tables) back for figures and the report."""

from pathlib import Path

import numpy as np
import pandas as pd

from nnrepro import cnn, cnn_table, io, params, runs
from nnrepro.errors import UserError

def _require(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} is missing: run `dvc repro` so that the stage writing it runs first")
    return path


def _json(path) -> dict:
    return io.read_json(_require(path))


def _entries(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "provenance"}


def lr_cell(lr, batchnorm: bool) -> str:
    """mlp_lr's matrix-cell name, spelt as DVC spells `${item.lr}` and `${item.batchnorm}`."""
    return f"lr{lr}-bn{str(batchnorm).lower()}"


def lr_sweep(metrics_dir, live_dir, config: dict) -> dict:
    """batchnorm -> lr -> {'metrics', 'history'} for every cell of params mlp_lr."""
    lrs = params.nonempty_list(params.get(config, "mlp_lr.lrs"), "mlp_lr.lrs")
    norms = params.nonempty_list(params.get(config, "mlp_lr.batchnorm"), "mlp_lr.batchnorm")
    if sorted(map(bool, norms)) != [False, True]:
        raise UserError(f"mlp_lr.batchnorm must be [false, true] for the figures and report (Figures 1 and 3 and "
                        f"the BatchNorm claim compare both), got {norms!r}")
    sweep = {}
    for batchnorm in norms:
        sweep[bool(batchnorm)] = {
            float(lr): {"metrics": _json(Path(metrics_dir) / f"{lr_cell(lr, batchnorm)}.json"),
                        "history": runs.read_history(_require(Path(live_dir) / lr_cell(lr, batchnorm)))}
            for lr in sorted(lrs, reverse=True)
        }
    return sweep


def named_runs(metrics_path, live_dir, histories: bool = True) -> dict:
    """name -> {'metrics', 'history'} for a stage that trains several named runs (mlp_long, mlp_batch, mlp_sine)."""
    entries = _entries(_json(metrics_path))
    return {name: {"metrics": m, **({"history": runs.read_history(_require(Path(live_dir) / name))}
                                    if histories else {})}
            for name, m in entries.items()}


def batch_pairs(metrics_path, live_dir, timings_path, histories: bool = True) -> dict:
    """mlp_batch's pairs by batch size, each with its seconds per epoch from the timings file."""
    pairs = named_runs(metrics_path, live_dir, histories)
    timings = _json(timings_path)
    for name, run in pairs.items():
        run["seconds_per_epoch"] = timings.get(f"{name}_seconds_per_epoch")
    return dict(sorted(pairs.items(), key=lambda kv: (kv[1]["metrics"]["batch_size"], kv[1]["metrics"]["epochs"])))


def gradient_norms(live_dir) -> dict:
    """variant -> {layer: per-epoch squared gradient norms} from grad_probe's DVCLive files."""
    variants = {}
    for variant in ("plain", "residual"):
        folder = _require(Path(live_dir) / variant / "plots" / "metrics" / "grad_sq_norm")
        files = sorted(folder.glob("layer_*.tsv"), key=lambda p: int(p.stem.split("_")[1]))
        variants[variant] = {int(f.stem.split("_")[1]): pd.read_csv(f, sep="\t")[f.stem].to_numpy(float)
                             for f in files}
    return variants


def evaluation(metrics_path, folder, boundaries: bool = False) -> dict:
    """The evaluate stage's summary, grid table, best/worst histories, depth and width slices."""
    folder = Path(folder)
    result = {"summary": _entries(_json(metrics_path)), "grid": pd.read_csv(_require(folder / "grid.csv"))}
    for rank in ("best", "worst"):
        result[f"{rank}_history"] = pd.read_csv(_require(folder / f"{rank}_history.csv"))
        if boundaries:
            from nnrepro import boundary

            result[f"{rank}_boundary"] = boundary.load(_require(folder / f"{rank}_boundary.npz"))
    for axis in ("depth", "width"):
        result[f"acc_vs_{axis}"] = pd.read_csv(_require(folder / f"acc_vs_{axis}.csv"))
    return result


def sine_boundaries(metrics_path, folder) -> dict:
    """features -> {'metrics', 'boundary'} of the mlp_sine stage."""
    from nnrepro import boundary

    return {name: {"metrics": m, "boundary": boundary.load(_require(Path(folder) / f"{name}_boundary.npz"))}
            for name, m in _entries(_json(metrics_path)).items()}


def cnn_cells(metrics_dir, xgboost_path, config: dict) -> dict:
    """{'cells': one row per (baseline, lr) of params cnn.lrs, 'xgboost': its metrics}."""
    lrs = params.nonempty_list(params.get(config, "cnn.lrs"), "cnn.lrs")
    rows = []
    for baseline in cnn.BASELINES:
        for lr in lrs:
            name = cnn_table.cell_name(baseline, lr)
            record = _json(Path(metrics_dir) / f"{name}.json")
            rows.append({"cell": name, "baseline": baseline, "lr": float(lr), "diverged": record.get("diverged"),
                         "val_accuracy": record["val_accuracy"], "test_accuracy": record["test_accuracy"]})
    return {"cells": pd.DataFrame(rows), "xgboost": _entries(_json(xgboost_path))}


def europe_test(outlines_path, test_csv) -> dict:
    """Country outlines and the test points, for boundary maps."""
    from nnrepro import europe

    x, y = europe.load_tensors(_require(test_csv))
    return {"outlines": _json(outlines_path), "points": (x.numpy(), y.numpy())}


def provenance(*metrics_paths) -> dict:
    """The provenance records of the given metrics files, deduplicated: value -> files it came from."""
    seen = {}
    for path in metrics_paths:
        paths = sorted(Path(path).glob("*.json")) if Path(path).is_dir() else [Path(path)]
        for file in paths:
            record = io.read_json(file).get("provenance")
            if record:
                seen.setdefault(tuple(sorted(record.items())), []).append(str(file))
    return {key: files for key, files in seen.items()}


def history_array(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(epoch, values) of one history column, rows without a value dropped."""
    rows = frame[["epoch", column]].dropna()
    return rows["epoch"].to_numpy(float), rows[column].to_numpy(float)
