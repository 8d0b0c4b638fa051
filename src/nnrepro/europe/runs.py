"""A stage's training runs over replicates: runs of one shape trained as one stacked computation, the stacks spread
over the cores, and each run written as its replicates (rep<k>, from seed replicates.first + k) and their mean."""

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from nnrepro import io
from nnrepro.europe import mlp, stacked
from nnrepro.europe.mlp import MLP
from nnrepro.europe.summary import summarize
from nnrepro.replicates import REPLICATE, live_means, mean_history
from nnrepro.runtime import parallel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """One training run of a stage: its architecture, schedule (lr, epochs, batch_size) and first-epoch evaluations."""

    arch: dict
    sched: dict
    first_epoch_evals: int = 1

    def shape(self) -> tuple:
        """What runs must share to train stacked: everything but the learning rate."""
        return (
            tuple(sorted(self.arch.items())),
            self.sched["epochs"],
            self.sched["batch_size"],
            self.first_epoch_evals,
        )

    def cost(self, n_train: int) -> int:
        """Relative training cost (steps times per-layer overhead plus multiply-adds): longest first balances cores."""
        steps = math.ceil(n_train / self.sched["batch_size"]) * self.sched["epochs"]
        return steps * self.arch["depth"] * (64 + self.arch["width"]) * self.arch["width"]


def build(arch: dict, seed: int, num_classes: int, device) -> MLP:
    """The MLP as PyTorch initialises it under `seed`."""
    torch.manual_seed(seed)
    return MLP(num_classes=num_classes, **arch).to(device)


def fit_stack(
    run: Run, lrs: list[float], seeds: list[int], splits: dict, label: str, num_classes: int, live_dirs: list[Path]
) -> list[tuple[MLP, list[dict]]]:
    """Runs of one shape (learning rates and seeds may differ) trained as one computation: [(model, history)].
    The replicates of run i are models i * r ... (i + 1) * r - 1 (r = len(seeds) // len(live_dirs)); its mean
    history is written to live_dirs[i] as training goes (replicates.live_means)."""
    models = [build(run.arch, seed, num_classes, splits["train"][0].device) for seed in seeds]
    every = max(1, (run.sched["epochs"] + run.first_epoch_evals - 1) // 10)
    count = [0]
    logs = [io.LiveHistory(folder) for folder in live_dirs]
    log_mean = live_means(logs, len(models) // len(logs))

    def report(k: int, row: dict) -> None:
        log_mean(k, row)
        if k == 0:
            count[0] += 1
            if count[0] % every == 0:
                logger.info(
                    f"{label}: epoch {row['epoch']:.2f}/{run.sched['epochs']} (first of {len(models)} "
                    f"stacked) validation acc {row.get('validation_acc', float('nan')):.4f}"
                )

    histories = stacked.train_stacked(
        models,
        splits,
        lrs=lrs,
        seeds=seeds,
        epochs=run.sched["epochs"],
        batch_size=run.sched["batch_size"],
        first_epoch_evals=run.first_epoch_evals,
        report=report,
    )
    for log in logs:
        log.close()
    return list(zip(models, histories))


def fit_runs(
    runs: dict[str, Run], splits: dict, seeds: list[int], stage_name: str, num_classes: int, device, live_dir: Path
) -> dict[str, tuple[list, float]]:
    """Every run over every replicate seed; runs of one shape stacked, the stacks side by side over the cores (longest
    first); each run's mean history logged live under live_dir/<name> (DVCLive). name -> ([(model, history) per
    replicate], its share of its stack's seconds (stack_shares))."""
    stacks: dict[tuple, list[str]] = {}
    for name, run in runs.items():
        stacks.setdefault(run.shape(), []).append(name)
    order = sorted(stacks.values(), key=lambda names: -runs[names[0]].cost(len(splits["train"][1])) * len(names))
    jobs = [
        (
            runs[names[0]],
            [runs[n].sched["lr"] for n in names for _ in seeds],
            seeds * len(names),
            splits,
            f"{stage_name} {', '.join(names)}",
            num_classes,
            [Path(live_dir) / n for n in names],
        )
        for names in order
    ]
    results, seconds = parallel.run_all(fit_stack, jobs, device)
    done = {}
    for names, fitted, took in zip(order, results, seconds):
        per_run = [fitted[i * len(seeds) : (i + 1) * len(seeds)] for i in range(len(names))]
        shares = stack_shares([[history for _, history in run] for run in per_run], took)
        done.update({name: (run, share) for name, run, share in zip(names, per_run, shares)})
    return {name: done[name] for name in runs}


def stack_shares(runs_histories: list[list[list[dict]]], seconds: float) -> list[float]:
    """Each run's share of its stack's seconds: the stack trains its runs as one computation, so no run has a clock
    of its own; the seconds are split in proportion to the epochs each run's replicates trained (a replicate that
    diverged stops there and costs no more steps). Runs of one stack share a shape, so an epoch costs each alike."""
    trained = [sum(history[-1]["epoch"] if history else 0.0 for history in run) for run in runs_histories]
    total = sum(trained)
    if total <= 0:
        return [seconds / len(trained)] * len(trained)
    return [seconds * share / total for share in trained]


def write_cells(folder: Path, summaries: dict, labels: dict[str, dict]) -> None:
    """Each run's summary in a metrics file of its own (folder/<name>.json), after the values that name it."""
    for name, summary in summaries.items():
        io.write_json(folder / f"{name}.json", {**labels[name], **summary})


def save_runs(
    runs: dict[str, Run],
    results: dict,
    seeds: list[int],
    live_dir: Path,
    models_dir: Path,
    tables: dict[str, list[str]] | None = None,
) -> tuple[dict, dict]:
    """Per run (its mean history already logged live by fit_runs): every replicate's history in
    live_dir/<name>/replicates.tsv (io.log_replicates), replicate k's model at models_dir/<name>-rep<k>.pt;
    (summaries, seconds). A summary is the mean history's, with each replicate's beside it. `tables`: file name
    -> the runs whose mean histories go into live_dir/<file name> as one table (io.log_cells), for a figure."""
    metrics, timings, means = {}, {}, {}
    for name, (fitted, took) in results.items():
        histories = [history for _, history in fitted]
        mean = means[name] = mean_history(histories)
        io.log_replicates(histories, live_dir / name)
        replicates = {}
        for k, (model, history) in enumerate(fitted):
            replicates[REPLICATE.format(k)] = summarize(history)
            mlp.save(model, runs[name].arch, models_dir / f"{name}-{REPLICATE.format(k)}.pt")
        metrics[name] = {**summarize(mean), "seeds": seeds, "replicates": replicates}
        timings[f"{name}_seconds"] = took
    for table, names in (tables or {}).items():
        io.log_cells(live_dir / table, {name: means[name] for name in names})
    return metrics, timings
