"""The benchmarks that justify the code, in one run on one machine; writes bench/results.json and prints a table.

  stacked  8 runs of the 6x16 MLP for one epoch, stacked (europe.stacked, what the MLP stages train with) against
           the independent reference loop (tests/reference_loop.py: nn.Sequential + torch.optim.Adam) running them
           one by one, alternating
  steps    the training step of the candidates tried for the stacked trainer, K = 8 runs a cell, on one core, as
           multiply-adds per second against one core's sgemm measured beside them: the hand-written backward the
           trainer uses, the same with its earlier log_softmax loss, and autograd through the same stacked baddbmm
           products (torch.compile was not tried here: the issue's prototype found it did not lower small nets'
           per-step cost)
  repro    the whole default `dvc repro` in a fresh clone of the committed repository: seconds, naive epochs,
           per-stage seconds, each MLP stage's multiply-adds per second against one core's sgemm
  exp      `dvc exp run -S lr=0.01` in that clone, as a fraction of the repro (the clone is restored after it)
  noop     a no-op `dvc repro` in that clone against DVC's floor (a trivial project of as many stages), alternating
--device cuda runs the same cases on a GPU (one GPU counts as one core) and writes them under results.json's
"cuda" key. Commit first: the repro runs the committed code. About 35 min on 2 cores: repro ~20, exp ~10.
"""

import argparse
import datetime
import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset

from nnrepro import io
from nnrepro.europe import runs, stacked
from nnrepro.europe.mlp import MLP
from nnrepro.europe.points import LAT_RANGE, LON_RANGE, NUM_CLASSES
from nnrepro.runtime.device import thread_count

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from reference_loop import reference_net, reference_run  # noqa: E402  (the independent reference lives in tests)

CPU, DVC = torch.device("cpu"), str(Path(sys.executable).parent / "dvc")
PARTS = ("stacked", "steps", "repro", "exp", "noop")
SIZES = {"train": 106897, "validation": 13363, "test": 13363}  # params.yaml's europe sizes
LRS, SEEDS = [1.0, 0.01, 0.001, 0.0001] * 2, list(range(8))  # the 8 stacked runs
ARCH, BATCH, EXP = {"depth": 6, "width": 16, "features": "xy"}, 256, ("exp", "run", "-S", "lr=0.01")
CELLS, RUNS, STEPS = ((1, 8), (6, 16), (10, 64)), 8, 100  # the steps part: (depth, width) cells, K, steps timed
MLP_STAGES = ("mlp_lr", "mlp_long", "mlp_batch", "mlp_grid", "grad_probe", "mlp_sine")
GOALS = {
    "stacked_ratio": ">= 10",
    "mlp_efficiency": ">= 0.5",
    "repro_naive_epochs": "<= 460",
    "exp_fraction": "<= 0.5",
    "noop_over_floor": "<= 1.5",
}


def timed(fn, device: torch.device = CPU, cpu_time: bool = False):
    """(seconds, fn()), a GPU synchronised on both sides. cpu_time: on the CPU, the process's CPU seconds instead of
    wall seconds; for one thread, the same on a quiet machine and steadier on a shared one. Python's garbage is
    collected before the clock starts, so that no case pays for a collection of what the one before it left (a full
    collection of this process's heap costs about 0.1 s)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    clock = time.process_time if cpu_time and device.type == "cpu" else time.perf_counter
    gc.collect()
    sync()
    start = clock()
    result = fn()
    sync()
    return clock() - start, result


# ---------------------------------------------------------------- the reference loop and the stacked runs


def random_splits(sizes: dict, device: torch.device, seed: int = 0) -> dict:
    """Uniform points over the study's box, uniformly random country labels."""
    generator = torch.Generator().manual_seed(seed)
    low = torch.tensor([LON_RANGE[0], LAT_RANGE[0]])
    span = torch.tensor([LON_RANGE[1] - LON_RANGE[0], LAT_RANGE[1] - LAT_RANGE[0]])
    return {
        split: (
            (low + torch.rand(n, 2, generator=generator) * span).to(device),
            torch.randint(0, NUM_CLASSES, (n,), generator=generator).to(device),
        )
        for split, n in sizes.items()
    }


def reference_runs(splits: dict, batchnorm: bool, epochs: int, device: torch.device, lrs=LRS, seeds=SEEDS):
    """The runs one by one through the reference loop: [(net, history)]."""
    depth, width = ARCH["depth"], ARCH["width"]
    nets = [reference_net(depth, width, NUM_CLASSES, seed=seed, batchnorm=batchnorm).to(device) for seed in seeds]
    return [
        (net, reference_run(net, splits, lr=lr, epochs=epochs, batch_size=BATCH, seed=seed))
        for net, lr, seed in zip(nets, lrs, seeds)
    ]


def stacked_runs(splits: dict, batchnorm: bool, epochs: int, device: torch.device, lrs=LRS, seeds=SEEDS):
    """The same runs stacked, as the MLP stages train them: [(model, history)]."""
    models = [runs.build({**ARCH, "batchnorm": batchnorm}, seed, NUM_CLASSES, device) for seed in seeds]
    histories = stacked.train_stacked(models, splits, lrs=lrs, seeds=seeds, epochs=epochs, batch_size=BATCH)
    return list(zip(models, histories))


def differences(reference: list, ours: list) -> dict:
    """Largest relative loss and absolute accuracy difference over every run's rows at whole epochs."""
    gaps = {"loss_rel": 0.0, "acc_abs": 0.0}
    for (_, want), (_, got) in zip(reference, ours):
        for a, b in zip(want, [row for row in got if float(row["epoch"]).is_integer()]):
            for key in a.keys() - {"epoch", "diverged"}:
                gap = abs(a[key] - b[key]) / (1 if key.endswith("_acc") else max(abs(a[key]), 1e-12))
                if math.isnan(gap):  # a loss finite on one side only differs without bound
                    gap = 0.0 if math.isnan(a[key]) and math.isnan(b[key]) else math.inf
                name = "acc_abs" if key.endswith("_acc") else "loss_rel"
                gaps[name] = max(gaps[name], gap)
    return gaps


def stacked_case(splits: dict, batchnorm: bool, repeats: int, device: torch.device) -> dict:
    """Reference one by one and stacked, alternating `repeats` times; the median of the pairs' ratios."""
    pairs = []
    for repeat in range(repeats):
        one_by_one, reference = timed(lambda: reference_runs(splits, batchnorm, 1, device), device, cpu_time=True)
        together, ours = timed(lambda: stacked_runs(splits, batchnorm, 1, device), device, cpu_time=True)
        pairs.append((one_by_one, together))
        print(
            f"stacked{' BatchNorm' if batchnorm else ''} pair {repeat + 1}: reference one by one {one_by_one:.2f} "
            f"s, stacked {together:.2f} s",
            flush=True,
        )
    return {
        "ratio": statistics.median(a / b for a, b in pairs),
        "reference_s": statistics.median(a for a, _ in pairs),
        "stacked_s": statistics.median(b for _, b in pairs),
        "differences": differences(reference, ours),
    }


class Rows(Dataset):
    """A course's Dataset: numpy rows, new tensors for every item."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x.cpu().numpy(), y.cpu().numpy()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return torch.tensor(self.x[i]), torch.tensor(self.y[i])


def course_epoch(net: nn.Module, splits: dict, device: torch.device) -> dict:
    """One epoch as a course writes it: a row-by-row Dataset through a shuffling DataLoader, .item() every batch,
    validation and test through DataLoaders."""
    optimizer, rows = torch.optim.Adam(net.parameters(), lr=1e-3), {s: Rows(*pair) for s, pair in splits.items()}
    net.train()
    loss_sum = 0.0
    for xb, yb in DataLoader(rows["train"], batch_size=BATCH, shuffle=True):
        loss = F.cross_entropy(net(xb.to(device)), yb.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(yb)
    row, _ = {"train_loss": loss_sum / len(rows["train"])}, net.eval()
    with torch.no_grad():
        for split in ("validation", "test"):
            logits = torch.cat([net(xb.to(device)) for xb, _ in DataLoader(rows[split], batch_size=1024)])
            row[f"{split}_loss"] = F.cross_entropy(logits, splits[split][1]).item()
    return row


def naive_epoch_seconds(splits: dict, repeats: int, device: torch.device, folder: Path) -> float:
    """One course-style epoch of the 6x16 net, its CSVs read with pandas first. The unit of repro_naive_epochs."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, (x, y) in splits.items():
        pd.DataFrame({"long": x[:, 0].cpu(), "lat": x[:, 1].cpu(), "country": y.cpu()}).to_csv(folder / f"{split}.csv")

    def epoch():
        frames = {split: pd.read_csv(folder / f"{split}.csv", index_col=0) for split in splits}
        data = {
            split: (
                torch.tensor(f[["long", "lat"]].to_numpy(np.float32), device=device),
                torch.tensor(f["country"].to_numpy(), device=device),
            )
            for split, f in frames.items()
        }
        course_epoch(reference_net(6, 16, NUM_CLASSES, seed=0).to(device), data, device)

    return statistics.median(timed(epoch, device)[0] for _ in range(repeats))


# ---------------------------------------------------------------- the candidates for the stacked step


class AutogradStack:
    """Candidate: the trainer's stacked baddbmm forward and flat-buffer Adam, with autograd's backward (plain
    nets): every parameter a leaf viewing the flat buffer, its .grad a view of the flat gradient."""

    def __init__(self, models: list, lrs: list[float]):
        self.flat = torch.cat(
            [torch.stack([p.detach() for p in ps]).reshape(-1) for ps in zip(*(m.parameters() for m in models))]
        )
        self.grad, self.exp_avg, self.exp_avg_sq = (torch.zeros_like(self.flat) for _ in range(3))
        self.neg_lr = torch.cat([-torch.tensor(lrs).repeat_interleave(p.numel()) for p in models[0].parameters()])
        self.leaves, offset = [], 0
        for p in models[0].parameters():
            size, shape = len(models) * p.numel(), (len(models), *p.shape, *(() if p.dim() == 2 else (1,)))
            leaf = self.flat[offset : offset + size].view(shape).requires_grad_()
            leaf.grad, offset = self.grad[offset : offset + size].view(shape), offset + size
            self.leaves.append(leaf)
        self.steps = 0

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        h, layers = x, list(zip(self.leaves[::2], self.leaves[1::2]))
        for w, b in layers[:-1]:
            h = torch.relu(torch.baddbmm(b, w, h))
        logits = torch.baddbmm(layers[-1][1], layers[-1][0], h)
        losses = -torch.log_softmax(logits, 1).gather(1, y.unsqueeze(1)).sum((1, 2))
        self.grad.zero_()
        (losses.sum() / y.shape[1]).backward()
        (torch.max(logits.detach(), 1).indices == y).sum(1)  # the trainer's step counts right predictions too
        with torch.no_grad():
            self.steps += 1
            self.exp_avg.lerp_(self.grad, 0.1)
            self.exp_avg_sq.mul_(0.999).addcmul_(self.grad, self.grad, value=0.001)
            denom = self.exp_avg_sq.sqrt().div_(math.sqrt(1 - 0.999**self.steps)).add_(1e-8)
            self.flat.addcmul_(torch.div(self.exp_avg, denom, out=denom), self.neg_lr, value=1 / (1 - 0.9**self.steps))


class HandWrittenStack:
    """The trainer's own step (europe.stacked): the backward written out."""

    stack_class = stacked._Stack

    def __init__(self, models: list, lrs: list[float]):
        self.stack = self.stack_class(models, lrs)
        self.loss_sum, self.correct = torch.zeros(len(models)), torch.zeros(len(models))

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.stack.step(x, y, self.loss_sum, self.correct)
        self.stack.adam()


class LogSoftmaxStack(stacked._Stack):
    """The trainer's earlier loss: log_softmax, its exp for the gradient, and torch.max's indices for the right
    predictions (three full passes over the logits, against one softmax and two cheap amax now)."""

    def step(self, x: torch.Tensor, y: torch.Tensor, loss_sum: torch.Tensor, correct: torch.Tensor) -> None:
        logits, tape, _ = self.forward(x, True)
        logp = torch.log_softmax(logits, 1)
        target = y.unsqueeze(1)
        picked = logp.gather(1, target)
        correct.add_((torch.max(logits, 1).indices == y).sum(1))
        grad = logp.exp_().scatter_add_(1, target, torch.full_like(picked, -1.0)).div_(y.shape[1])
        self.backward(grad, tape)
        loss_sum.sub_(picked.sum((1, 2)))


class LogSoftmaxCandidate(HandWrittenStack):
    """Candidate: the hand-written backward with the earlier log_softmax loss."""

    stack_class = LogSoftmaxStack


CANDIDATES = {
    "hand-written backward (the trainer)": HandWrittenStack,
    "hand-written, log_softmax loss (before)": LogSoftmaxCandidate,
    "autograd": AutogradStack,
}


def step_macs(depth: int, width: int) -> int:
    """Multiply-adds of one step of one run: forward and backward (3x forward) on a batch."""
    return 3 * BATCH * forward_macs(depth, width, "xy")


def steps_case(repeats: int, device: torch.device, mac_s: float, steps: int = STEPS) -> dict:
    """Per cell and candidate: seconds a step of K = RUNS stacked runs and its multiply-adds per second against one
    core's sgemm (mac_s), the candidates alternating; the median over repeats."""
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(steps, RUNS, 2, BATCH, generator=generator) * 40).to(device)
    y = torch.randint(NUM_CLASSES, (steps, RUNS, BATCH), generator=generator).to(device)
    results = {}
    for depth, width in CELLS:
        times: dict[str, list[float]] = {name: [] for name in CANDIDATES}
        for _ in range(repeats):
            for name, candidate in CANDIDATES.items():
                models = [
                    runs.build({"depth": depth, "width": width, "features": "xy"}, s, NUM_CLASSES, device)
                    for s in range(RUNS)
                ]
                stack = candidate(models, [1e-3] * RUNS)
                stack.step(x[0], y[0])  # warm-up
                times[name].append(
                    timed(lambda stack=stack: [stack.step(x[i], y[i]) for i in range(steps)], device, True)[0] / steps
                )
        macs = RUNS * step_macs(depth, width)
        medians = {name: {"step_ms": 1e3 * statistics.median(t), "macs": macs} for name, t in times.items()}
        results[f"d{depth}-w{width}"] = rated(medians, mac_s)
        print(
            f"steps d{depth}-w{width}: "
            + ", ".join(
                f"{n} {r['step_ms']:.3f} ms ({r['efficiency']:.2f})" for n, r in results[f"d{depth}-w{width}"].items()
            ),
            flush=True,
        )
    return results


def rated(candidates: dict, mac_s: float) -> dict:
    """Each candidate's step with its multiply-adds per second against one core's sgemm (mac_s)."""
    return {name: {**r, "efficiency": r["macs"] / (r["step_ms"] / 1e3) / mac_s} for name, r in candidates.items()}


def sgemm_mac_s(device: torch.device, repeats: int = 5) -> float:
    """Multiply-adds per second of one large fp32 matmul on one core (1024^2), or on the GPU (8192^2); the best."""
    n = 8192 if device.type == "cuda" else 1024
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.mm(a, b)
    return max(n**3 * 4 / timed(lambda: [torch.mm(a, b) for _ in range(4)], device, True)[0] for _ in range(repeats))


# ---------------------------------------------------------------- the MLP stages' multiply-adds


def forward_macs(depth: int, width: int, features: str) -> int:
    """Multiply-adds of one example through the MLP's linear layers."""
    model = MLP(depth, width, NUM_CLASSES, features=features)
    return sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def replicate_counts(values: dict) -> tuple[int, int]:
    """Replicates per MLP run and per gradient-probe variant: params.yaml's replicates block (or the older seed
    counts, `seeds` and grad_probe.seeds, so that older commits still bench)."""
    if "replicates" in values:
        return values["replicates"]["mlp"], values["replicates"]["grad_probe"]
    return values["seeds"], values["grad_probe"]["seeds"]


def stage_macs(values: dict) -> dict:
    """Stage -> multiply-adds of its training from params.yaml: forward and backward (3x forward) on every train
    row each epoch, forward on validation and test at every evaluation, per run x seed."""
    europe, m = values["europe"], values["mlp"]
    n_train, n_eval = europe["n_train"], europe["n_validation"] + europe["n_test"]
    seeds, probe_seeds = replicate_counts(values)

    def work(
        runs=1,
        depth=m["depth"],
        width=m["width"],
        features=m["features"],
        epochs=m["epochs"],
        batch_size=m["batch_size"],
        evals=1,
        seeds=seeds,
    ):
        evaluations = min(evals, math.ceil(n_train / batch_size)) + epochs - 1
        return runs * seeds * forward_macs(depth, width, features) * (3 * n_train * epochs + n_eval * evaluations)

    probe, first = values["grad_probe"], values["mlp_batch"]["first_epoch_evals"]
    return {
        "mlp_lr": work(len(values["mlp_lr"]["lrs"]) * len(values["mlp_lr"]["batchnorm"])),
        "mlp_long": work(2, epochs=values["mlp_long"]["epochs"]),
        "mlp_batch": sum(work(batch_size=b, epochs=e, evals=first) for b, e in values["mlp_batch"]["pairs"]),
        "mlp_grid": sum(
            work(depth=d, width=w) for d in values["mlp_grid"]["depths"] for w in values["mlp_grid"]["widths"]
        ),
        "grad_probe": work(
            2,
            probe["depth"],
            probe["width"],
            epochs=probe["epochs"],
            batch_size=probe["batch_size"],
            seeds=probe_seeds,
        ),
        "mlp_sine": work(features="xy") + work(features="sine"),
    }


def efficiencies(project: Path, stages: dict, cores: int, mac_s: float) -> dict:
    """Per MLP stage: its multiply-adds / (its seconds x cores x one core's sgemm multiply-adds per second)."""
    macs = stage_macs(yaml.safe_load((project / "params.yaml").read_text()))
    return {
        name: {
            "tmac": macs[name] / 1e12,
            "seconds": stages[name],
            "efficiency": macs[name] / (stages[name] * cores * mac_s),
        }
        for name in MLP_STAGES
        if name in stages
    }


# ---------------------------------------------------------------- DVC: the repro, the experiment, the no-op


def sh(folder: Path, device: torch.device, *command: str, quiet: bool = True) -> tuple[float, str]:
    """(seconds, output) of `command` in `folder` with the venv's tools first, the project's own src, a git
    identity, and no GPU for a CPU bench; a failure stops the bench with its output's tail."""
    who = {f"GIT_{a}_{b}": v for a in ("AUTHOR", "COMMITTER") for b, v in (("NAME", "bench"), ("EMAIL", "b@x.invalid"))}
    env = {
        **os.environ,
        **who,
        "PATH": f"{Path(DVC).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": "src",
        "DVC_NO_ANALYTICS": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    if device == CPU:
        env["CUDA_VISIBLE_DEVICES"] = ""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=quiet, text=True, check=False)
    if done.returncode:
        raise SystemExit(
            f"`{' '.join(command)}` failed in {folder} (exit {done.returncode})\n"
            f"{(done.stdout or '')[-3000:]}{(done.stderr or '')[-3000:]}"
        )
    return time.perf_counter() - start, done.stdout or ""


def repro_case(clone: Path, device: torch.device) -> dict:
    """The whole default pipeline from scratch in a fresh clone of the committed repository, then committed."""
    sh(ROOT, device, "git", "clone", "-q", str(ROOT), str(clone))
    if (ROOT / ".dvc/offline_plots.html").exists():  # ignored, made at set-up; `dvc plots show` needs it
        shutil.copy(ROOT / ".dvc/offline_plots.html", clone / ".dvc/offline_plots.html")
    seconds = sh(clone, device, DVC, "repro", quiet=False)[0]
    sh(clone, device, "git", "add", "-A")
    sh(clone, device, "git", "commit", "-q", "-m", "default pipeline, run once")
    stages = {
        str(p.relative_to(clone / "timings").with_suffix("")): json.loads(p.read_text())["wall_seconds"]
        for p in sorted((clone / "timings").rglob("*.json"))
    }
    return {
        "repro_s": seconds,
        "stages": stages,
        "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }  # the largest stage process


def exp_case(clone: Path, device: torch.device, repro_s: float) -> dict:
    """The experiment loop's command after the repro; then the workspace back to the committed default run."""
    seconds = sh(clone, device, DVC, *EXP, quiet=False)[0]
    for command in (("git", "reset", "-q", "--hard"), ("git", "clean", "-q", "-fd"), (DVC, "checkout", "--force")):
        sh(clone, device, *command)
    return {"exp_command": "dvc " + " ".join(EXP), "exp_s": seconds, "exp_fraction": seconds / repro_s}


def trivial_project(folder: Path, stages: int, device: torch.device) -> Path:
    """git + DVC project of `stages` stages `echo k > out/k.txt` (dep in/k.txt), run once and committed."""
    (folder / "in").mkdir(parents=True)
    for command in (
        ("git", "init", "-q"),
        (DVC, "init", "-q"),
        (DVC, "config", "core.check_update", "false"),
        (DVC, "config", "core.analytics", "false"),
    ):
        sh(folder, device, *command)
    for k in range(stages):
        (folder / "in" / f"{k}.txt").write_text(f"{k}\n")
    pipeline = {
        f"s{k}": {"cmd": f"mkdir -p out && echo {k} > out/{k}.txt", "deps": [f"in/{k}.txt"], "outs": [f"out/{k}.txt"]}
        for k in range(stages)
    }
    (folder / "dvc.yaml").write_text(yaml.safe_dump({"stages": pipeline}, sort_keys=False))
    for command in ((DVC, "repro"), ("git", "add", "-A"), ("git", "commit", "-q", "-m", "trivial stages, run once")):
        sh(folder, device, *command)
    return folder


def noop_case(project: Path, floor: Path, repeats: int, device: torch.device) -> dict:
    """No-op `dvc repro` in `project` against the same in a trivial project of as many stages, alternating."""
    count = len(sh(project, device, DVC, "stage", "list", "--name-only")[1].split())
    trivial = trivial_project(floor, count, device)
    for folder in (project, trivial):
        sh(folder, device, DVC, "repro")  # warm-up: the first no-op after a run refreshes DVC's state database
    pairs = [
        (sh(project, device, DVC, "repro")[0], sh(trivial, device, DVC, "repro")[0]) for _ in range(max(repeats, 3))
    ]
    noop, floor_s = statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)
    return {"stage_count": count, "noop_s": noop, "dvc_floor_s": floor_s, "noop_over_floor": noop / floor_s}


# ---------------------------------------------------------------- the run


def describe(device: torch.device) -> dict:
    versions = {d.name: d.version for d in metadata.distributions() if d.name in ("torch", "numpy", "dvc")}
    versions["python"] = platform.python_version()
    return {
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "cpu": io.cpu_model(),
        "cores": thread_count(),
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "versions": versions,
    }


def measure(device: torch.device, repeats: int, skip: set, workdir: Path) -> dict:
    """Every part not skipped, in this process on this machine: the results.json entry."""
    if device == CPU:
        torch.set_num_threads(1)  # what the MLP stages use
    results = {**describe(device), "repeats": repeats, "skipped": sorted(skip)}
    splits = random_splits(SIZES, device)
    results["sgemm_mac_s"] = sgemm_mac_s(device)
    naive = workdir / "naive"
    results["naive_epoch_s"] = naive_epoch_seconds(splits, repeats, device, naive)
    if "steps" not in skip:
        results["steps"] = steps_case(repeats, device, results["sgemm_mac_s"])
    if "stacked" not in skip:
        plain, bn = (stacked_case(splits, batchnorm, repeats, device) for batchnorm in (False, True))
        results.update(
            stacked_ratio=plain["ratio"], stacked_ratio_batchnorm=bn["ratio"], stacked=plain, stacked_batchnorm=bn
        )
    if "repro" in skip:
        results.update({part: "skipped: needs the repro's clone" for part in ("exp", "noop") if part not in skip})
        return results
    clone = workdir / "clone"
    results.update(repro_case(clone, device))
    # The machine at its best, before the repro and after it: one core's sgemm, the naive epoch, the steps rated
    # against that sgemm (a shared machine's speed moves by tens of percent within a run).
    results["sgemm_mac_s"] = max(results["sgemm_mac_s"], sgemm_mac_s(device))
    results["naive_epoch_s"] = min(results["naive_epoch_s"], naive_epoch_seconds(splits, repeats, device, naive))
    if "steps" in results:
        results["steps"] = {cell: rated(c, results["sgemm_mac_s"]) for cell, c in results["steps"].items()}
    results["repro_naive_epochs"] = results["repro_s"] / results["naive_epoch_s"]
    cores = 1 if device.type == "cuda" else results["cores"]
    results["stage_efficiency"] = efficiencies(clone, results["stages"], cores, results["sgemm_mac_s"])
    results["mlp_efficiency"] = results["stage_efficiency"].get("mlp_grid", {}).get("efficiency")
    if "noop" not in skip:
        results.update(noop_case(clone, workdir / "floor", repeats, device))
    if "exp" not in skip:
        results.update(exp_case(clone, device, results["repro_s"]))
    return results


def table(results: dict) -> str:
    """The figures, each beside its goal, then each MLP stage's efficiency and every stage's seconds."""
    rows = [("figure", "value", "goal")]
    rows += [(key, f"{value:.3g}", GOALS.get(key, "")) for key, value in results.items() if isinstance(value, float)]
    rows += [
        (f"{name} efficiency", f"{f['efficiency']:.3f}", f"{f['tmac']:.2f} TMAC in {f['seconds']:.1f} s")
        for name, f in results.get("stage_efficiency", {}).items()
    ]
    rows += [
        (f"{cell} step, {name}", f"{r['step_ms']:.3f} ms", f"{r['efficiency']:.2f} of sgemm")
        for cell, candidates in results.get("steps", {}).items()
        for name, r in candidates.items()
    ]
    rows += [(f"{name} s", f"{seconds:.1f}", "") for name, seconds in results.get("stages", {}).items()]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, width)).rstrip() for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="alternating pairs per comparison (default 3)")
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS, help="parts not to run")
    parser.add_argument("--keep", type=Path, help="work in this new folder and keep it (the repro's clone: clone/)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        results = {**describe(CPU), "device": "cuda", "skipped": "no CUDA"}
    else:
        with tempfile.TemporaryDirectory() as scratch:
            if args.keep:
                args.keep.mkdir(parents=True)
            results = measure(device, args.repeats, set(args.skip), (args.keep or Path(scratch)).resolve())
    print("cuda: skipped: no CUDA" if results["skipped"] == "no CUDA" else table(results))
    earlier = json.loads(args.out.read_text()) if args.out.exists() else {}
    if device.type == "cuda":  # the CPU figures stay at the top level; a GPU's go under "cuda"
        results = {**earlier, "cuda": results}
    elif "cuda" in earlier:
        results["cuda"] = earlier["cuda"]
    io.write_text(args.out, json.dumps(results, indent=2) + "\n")  # Infinity allowed: a run finite on one side only
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
