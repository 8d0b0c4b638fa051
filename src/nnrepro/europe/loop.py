"""The tensor mini-batch training loop: data stays in tensors, no per-batch host syncs."""

import contextlib
import gc
import logging
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from nnrepro import io
from nnrepro.europe import fastmlp, mlp
from nnrepro.europe.mlp import MLP

logger = logging.getLogger(__name__)

Split = tuple[torch.Tensor, torch.Tensor]


def predicted(logits: torch.Tensor, dim: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """logits.argmax(dim): the first maximum, NaN counting as the maximum. From 32 rows it is torch.max's index,
    the same index (tested) at half the cost: ATen's argmax reduction over a few dozen classes is not vectorised."""
    if logits.numel() < 32 * logits.shape[dim]:
        return torch.argmax(logits, dim, out=out)
    indices = torch.max(logits, dim).indices
    return indices if out is None else out.copy_(indices)


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Loss and accuracy over a whole split in one pass, without gradients, in eval mode."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        accuracy = (predicted(logits, 1) == y).float().mean()
    model.train(was_training)
    return loss.item(), accuracy.item()


def eval_steps(steps_per_epoch: int, evals_per_epoch: int) -> set[int]:
    """The step counts within an epoch after which to evaluate, evenly spaced, the last one included."""
    k = max(1, min(evals_per_epoch, steps_per_epoch))
    return {round(steps_per_epoch * (j + 1) / k) for j in range(k)}


def flatten_parameters(model: torch.nn.Module) -> torch.nn.Parameter:
    """Make every parameter a view into one flat tensor, and every gradient a view into one flat gradient.

    Per-step overhead dominates these tiny models: Adam over one tensor is one fused kernel and no Python loop
    over parameters (2x faster per step at batch size 1), and zeroing the gradients is one call.
    """
    params = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        p.data = flat[offset : offset + p.numel()].view_as(p)
        p.grad = grad[offset : offset + p.numel()].view_as(p)  # backward accumulates into these views
        offset += p.numel()
    joined = torch.nn.Parameter(flat)
    joined.grad = grad
    return joined


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector off during a step loop: the loop makes no reference cycles, and in a
    process with a large heap each of the collector's periodic full scans costs as much as hundreds of steps
    (measured: batch-size-1 steps 25% faster beside pandas' and the naive loop's objects)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@gc_paused()
def train(
    model: torch.nn.Module,
    splits: dict[str, Split],
    *,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    first_epoch_evals: int = 1,
    after_backward: Callable[[], None] | None = None,
    report: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Adam on cross-entropy; returns one row per evaluation (train stats measured during the epoch).

    The first epoch is evaluated `first_epoch_evals` times, evenly spaced, every later epoch once at its end.
    `after_backward` runs after each backward pass (the gradient probe hooks in there). Training stops early
    when the loss is no longer finite; the last row then has `diverged` set.
    """
    x, y = splits["train"]
    steps = math.ceil(len(y) / batch_size)
    first, later = eval_steps(steps, first_epoch_evals), {steps}
    joined = flatten_parameters(model)
    fast = fastmlp.Step(model) if fastmlp.supports(model) else None
    optimizer = fastmlp.Adam(joined, lr) if fast is not None else torch.optim.Adam([joined], lr=lr, fused=True)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    model.train()
    history, seconds = [], 0.0
    for epoch in range(epochs):
        order = torch.randperm(len(y), generator=generator, device=x.device)
        xs, ys = x[order], y[order]  # one gather per epoch; batches are then views, split off in one call
        loss_sum, correct, seen = torch.zeros((), device=x.device), torch.zeros((), device=x.device), 0
        start, evals = time.perf_counter(), first if epoch == 0 else later
        for step, (xb, yb) in enumerate(zip(xs.split(batch_size), ys.split(batch_size)), 1):
            loss, logits = fast(xb, yb) if fast is not None else autograd_step(model, joined, xb, yb)
            if after_backward is not None:
                after_backward()
            optimizer.step()
            loss_sum.add_(loss, alpha=len(yb))  # running sums stay tensors: no host sync per step
            correct.add_((predicted(logits, 1) == yb).sum())
            seen += len(yb)
            if step not in evals:
                continue
            seconds += time.perf_counter() - start
            row = _row(model, splits, epoch + step / steps, loss_sum / seen, correct / seen, seconds)
            history.append(row)
            if report is not None:
                report(row)
            if row["diverged"]:
                return history
            loss_sum.zero_()
            correct.zero_()
            seen, start = 0, time.perf_counter()
    return history


def autograd_step(model: torch.nn.Module, joined: torch.nn.Parameter, x: torch.Tensor, y: torch.Tensor):
    """Loss and logits (detached) with the gradients in joined.grad, through autograd (BatchNorm nets)."""
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    assert joined.grad is not None, "flatten_parameters gives joined its gradient"
    joined.grad.zero_()
    loss.backward()
    return loss.detach(), logits.detach()


def _row(model, splits, epoch: float, train_loss, train_acc, seconds: float) -> dict:
    row = {"epoch": round(epoch, 6), "train_loss": train_loss.item(), "train_acc": train_acc.item()}
    row["diverged"] = not math.isfinite(row["train_loss"])
    for split in ("validation", "test"):
        if split in splits:
            row[f"{split}_loss"], row[f"{split}_acc"] = evaluate(model, *splits[split])
    row["seconds"] = seconds
    return row


def schedule(
    config, *, lr_key: str = "lr", epochs_key: str = "mlp.epochs", batch_key: str = "mlp.batch_size", **values
) -> dict:
    """Validated lr, epochs and batch_size, read from the given params keys unless passed in `values`."""
    keys = {"lr": lr_key, "epochs": epochs_key, "batch_size": batch_key}
    read = {"lr": config.positive, "epochs": config.integer, "batch_size": config.integer}
    return {name: values[name] if name in values else read[name](key) for name, key in keys.items()}


def fit(
    arch: dict, sched: dict, splits: dict, seed: int, label: str, num_classes: int, first_epoch_evals: int = 1
) -> tuple[MLP, list[dict]]:
    """Build the model from `seed` and train it, logging progress about ten times over the run."""
    torch.manual_seed(seed)
    model = MLP(num_classes=num_classes, **arch).to(splits["train"][0].device)
    total = sched["epochs"] + first_epoch_evals - 1
    count = [0]

    def report(row: dict) -> None:
        count[0] += 1
        if count[0] % max(1, total // 10) == 0 or row["diverged"]:
            logger.info(
                f"{label}: epoch {row['epoch']:.2f}/{sched['epochs']} train loss {row['train_loss']:.4f} "
                f"validation acc {row.get('validation_acc', float('nan')):.4f}"
            )

    history = train(model, splits, seed=seed, first_epoch_evals=first_epoch_evals, report=report, **sched)
    return model, history


def summarize(history: list[dict]) -> dict:
    """Final and best-validation-epoch losses and accuracies; `diverged` when the loss stopped being finite."""
    final = history[-1]
    finite = [r for r in history if not r["diverged"] and "validation_acc" in r]
    best = max(finite, key=lambda r: r["validation_acc"]) if finite else final
    summary = {"diverged": final["diverged"], "epochs_run": final["epoch"], "best_epoch": best["epoch"]}
    for key in io.HISTORY_KEYS[1:]:
        if key in final:
            summary[f"final_{key}"] = io.finite_or_none(final[key])
            summary[f"best_{key}"] = io.finite_or_none(best[key])
    return summary


def save_run(model: MLP, arch: dict, history: list[dict], live_dir, model_path) -> dict:
    """Log the history with DVCLive and save the model; return the run's summary metrics."""
    io.log_history(history, live_dir)
    mlp.save(model, arch, model_path)
    return summarize(history)
