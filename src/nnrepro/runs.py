"""One logged MLP run: data in, model trained, history to DVCLive, summary metrics and model out."""

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch
from dvclive import Live

from nnrepro import device, europe, io, params
from nnrepro.errors import UserError
from nnrepro.mlp import FEATURES, MLP
from nnrepro.train import train

LOGGED = ("train_loss", "train_acc", "validation_loss", "validation_acc", "test_loss", "test_acc", "epoch",
          "seconds")


def load_splits(data_dir, device: torch.device) -> dict:
    """The three Europe splits as tensors on `device`."""
    splits = {}
    for split in europe.SPLITS:
        x, y = europe.load_tensors(Path(data_dir) / f"{split}.csv")
        splits[split] = (x.to(device), y.to(device))
    return splits


def model_config(cfg: dict, name: str = "mlp", depth_key: str = "", width_key: str = "") -> dict:
    """Validated architecture keys of a params section; errors name `name`.<key> unless keys are given."""
    return {
        "depth": params.integer(cfg.get("depth"), depth_key or f"{name}.depth"),
        "width": params.integer(cfg.get("width"), width_key or f"{name}.width"),
        "features": params.choice(cfg.get("features", "xy"), f"{name}.features", FEATURES),
        "batchnorm": bool(cfg.get("batchnorm", False)),
        "residual": bool(cfg.get("residual", False)),
    }


def schedule(config: dict, *, lr_key: str = "lr", epochs_key: str = "mlp.epochs",
             batch_key: str = "mlp.batch_size", **values) -> dict:
    """Validated lr, epochs and batch_size, read from the given params keys unless passed in `values`."""
    keys = {"lr": lr_key, "epochs": epochs_key, "batch_size": batch_key}
    raw = {k: values[k] if k in values else params.get(config, key) for k, key in keys.items()}
    return {
        "lr": params.positive(raw["lr"], lr_key),
        "epochs": params.integer(raw["epochs"], epochs_key),
        "batch_size": params.integer(raw["batch_size"], batch_key),
    }


def fit(arch: dict, sched: dict, splits: dict, seed: int, label: str, evals_per_epoch: int = 1):
    """Build the model from `seed` and train it; prints one progress line per tenth of the run."""
    torch.manual_seed(seed)
    model = MLP(num_classes=europe.NUM_CLASSES, **arch).to(splits["train"][0].device)
    total = sched["epochs"] * max(1, evals_per_epoch)
    every = max(1, total // 10)
    count = [0]

    def report(row: dict) -> None:
        count[0] += 1
        if count[0] % every == 0 or row["diverged"]:
            print(f"{label}: epoch {row['epoch']:.2f} train loss {row['train_loss']:.4f} "
                  f"val acc {row.get('validation_acc', float('nan')):.4f}", file=sys.stderr, flush=True)

    history = train(model, splits, seed=seed, evals_per_epoch=evals_per_epoch, report=report, **sched)
    return model, history


def summarize(history: list[dict]) -> dict:
    """Final and best-validation-epoch losses and accuracies; `diverged` when the loss stopped being finite."""
    final = history[-1]
    finite = [r for r in history if not r["diverged"] and "validation_acc" in r]
    best = max(finite, key=lambda r: r["validation_acc"]) if finite else final
    summary = {"diverged": final["diverged"], "epochs_run": final["epoch"], "best_epoch": best["epoch"]}
    for key in LOGGED[:6]:
        if key in final:
            summary[f"final_{key}"] = io.finite_or_none(final[key])
            summary[f"best_{key}"] = io.finite_or_none(best[key])
    return summary


def log_history(history: list[dict], live_dir) -> None:
    """Write the history as DVCLive step files (<live_dir>/plots/metrics/<split>/<loss|acc>.tsv)."""
    with Live(str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None) as live:
        for row in history:
            for key in LOGGED:
                if key in row:
                    live.log_metric(key.replace("_", "/", 1) if key.count("_") else key, row[key])
            live.next_step()


def save_model(model: MLP, arch: dict, path) -> None:
    with io.atomic_path(path) as tmp:
        # Clones: the parameters are views into one flat training buffer (train.flatten_parameters).
        torch.save({"arch": arch, "state_dict": {k: v.clone() for k, v in model.state_dict().items()}}, tmp)


def load_model(path, device: torch.device = torch.device("cpu")) -> MLP:
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model = MLP(num_classes=europe.NUM_CLASSES, **checkpoint["arch"]).to(device)
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def add_output_args(parser: argparse.ArgumentParser, single_run: bool = False) -> None:
    """The paths an MLP stage takes from dvc.yaml: one run (a matrix cell) or a folder of named runs."""
    parser.add_argument("--data", type=Path, required=True, help="folder with the Europe CSVs")
    parser.add_argument("--metrics", type=Path, required=True, help="summary metrics JSON")
    parser.add_argument("--timings", type=Path, required=True, help="wall-clock seconds JSON")
    what = "this run's" if single_run else "a subfolder per run for the"
    parser.add_argument("--live", type=Path, required=True, help=f"DVCLive folder, {what} histories")
    if single_run:
        parser.add_argument("--model", type=Path, required=True, help="the trained model (.pt)")
    else:
        parser.add_argument("--models", type=Path, required=True, help="folder for the trained models")


def parse_args(description: str) -> argparse.Namespace:
    """The command line of a stage that trains several named runs."""
    parser = argparse.ArgumentParser(description=description)
    add_output_args(parser)
    return parser.parse_args()


def start(threads: int = 1) -> tuple[dict, int, torch.device]:
    """params.yaml, its seed, and the device, with every generator seeded.

    One thread by default: these models are far too small for intra-op threads to pay for their overhead.
    """
    config = params.load()
    seed = params.integer(params.get(config, "seed"), "seed", 0)
    return config, seed, device.setup(seed, params.get(config, "device"), threads)


def save_run(model: MLP, arch: dict, history: list[dict], live_dir, model_path) -> dict:
    """Log the history with DVCLive, save the model; return the summary metrics."""
    log_history(history, live_dir)
    save_model(model, arch, model_path)
    return summarize(history)


def finish(metrics: dict, metrics_path, timings_path, timings: dict, seed: int, dev: torch.device) -> None:
    """Metrics with provenance (byte-identical across reruns); wall-clock timings in their own file."""
    io.write_json(metrics_path, {**metrics, "provenance": io.provenance(seed, str(dev))})
    io.write_json(timings_path, {k: round(v, 3) for k, v in timings.items()})


def read_history(live_dir) -> pd.DataFrame:
    """A DVCLive folder's step files joined back into one table (one row per step)."""
    table = None
    for tsv in sorted((Path(live_dir) / "plots" / "metrics").rglob("*.tsv")):
        column = tsv.relative_to(Path(live_dir) / "plots" / "metrics").with_suffix("").as_posix()
        frame = pd.read_csv(tsv, sep="\t")[["step", tsv.stem]].rename(columns={tsv.stem: column})
        table = frame if table is None else table.merge(frame, on="step", how="outer")
    if table is None:
        raise UserError(f"{live_dir} holds no DVCLive history: run `dvc repro` so that the stage writing it runs")
    return table.sort_values("step").reset_index(drop=True)
