"""The per-layer gradient probe: how gradient magnitudes fade (or not) through a deep MLP, and which units die."""

import math

import torch

from nnrepro.errors import UserError
from nnrepro.europe.loop import train
from nnrepro.europe.mlp import MLP

DEAD_ROWS = 4096  # training rows on which a unit must be zero everywhere to count as dead (a fixed subsample)


def probed_weights(model: MLP, layers: list[int]) -> list[torch.Tensor]:
    """The weight of each requested hidden linear layer (0 = the input layer)."""
    depth = len(model.hidden)
    bad = [i for i in layers if not 0 <= i < depth]
    if bad:
        raise UserError(f"grad_probe.layers has {bad[0]}, outside 0..{depth - 1} for grad_probe.depth {depth}")
    return [model.linears()[i].weight for i in layers]


def squared_grad_norms(weights: list[torch.Tensor]) -> torch.Tensor:
    """Squared L2 norm of each weight's current gradient, as one tensor (no host sync)."""
    grads = [w.grad for w in weights if w.grad is not None]
    if len(grads) < len(weights):
        raise ValueError("squared_grad_norms needs every probed weight's gradient (none before the first step)")
    return torch.stack(torch._foreach_norm(grads)) ** 2


@torch.no_grad()
def dead_fractions(model: MLP, x: torch.Tensor, layers: list[int]) -> torch.Tensor:
    """Per probed layer: the fraction of its ReLU units whose input is <= 0 on every row of `x` (eval mode)."""
    pre_relu: dict[int, torch.Tensor] = {}
    hooks = [
        model.norms[i].register_forward_hook(lambda _m, _in, out, i=i: pre_relu.__setitem__(i, out)) for i in layers
    ]
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return torch.stack([(pre_relu[i] <= 0).all(0).float().mean() for i in layers])


def train_with_probe(
    model: MLP, splits: dict, layers: list[int], *, lr: float, epochs: int, batch_size: int, seed: int, report=None
) -> tuple[list[dict], list[list[float]], list[list[float]]]:
    """Train as usual; also return per epoch each probed layer's squared gradient norm averaged over batches,
    and its fraction of dead units at the end of the epoch."""
    weights = probed_weights(model, layers)
    sample = splits["train"][0][:DEAD_ROWS]
    steps = math.ceil(len(splits["train"][1]) / batch_size)
    running = torch.zeros(len(layers), device=weights[0].device)
    grads, dead = [], []

    def accumulate() -> None:
        running.add_(squared_grad_norms(weights))

    def close_epoch(row: dict) -> None:
        grads.append((running / steps).tolist())
        dead.append(dead_fractions(model, sample, layers).tolist())
        running.zero_()
        if report is not None:
            report(row)

    history = train(
        model,
        splits,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        after_backward=accumulate,
        report=close_epoch,
    )
    return history, grads, dead


def _sig(value: float) -> float:
    return float(f"{value:.6g}")


def curves(runs: list[dict]) -> dict:
    """Per seed (one run each): squared gradient norms and dead fractions [epoch][layer], final accuracy."""
    return {
        "grad_sq_norm": [[[_sig(v) for v in epoch] for epoch in r["grads"]] for r in runs],
        "dead_fraction": [[[_sig(v) for v in epoch] for epoch in r["dead"]] for r in runs],
        "final_validation_acc": [_final(r["history"]) for r in runs],
        "diverged": [bool(r["history"][-1]["diverged"]) for r in runs],
    }


def _final(history: list[dict]):
    value = history[-1].get("validation_acc")
    return None if history[-1]["diverged"] or value is None else _sig(value)


def seed_summaries(runs: list[dict], seeds: list[int], layers: list[int]) -> dict:
    """Flat metrics per seed: final validation accuracy, each layer's last-epoch gradient and dead fraction."""
    result = {}
    for seed, r in zip(seeds, runs):
        row = {"final_validation_acc": _final(r["history"]), "diverged": bool(r["history"][-1]["diverged"])}
        for i, layer in enumerate(layers):
            row[f"layer_{layer}_grad_sq_norm"] = _sig(r["grads"][-1][i])
            row[f"layer_{layer}_dead_fraction"] = _sig(r["dead"][-1][i])
        result[f"seed{seed}"] = row
    return result


def median_table(curve: dict, layers: list[int]):
    """Per layer and epoch, the median over seeds of the squared gradient norm (what `dvc plots` draws): a long
    table, columns layer, epoch, grad_sq_norm, so that the figure holds whatever layers are probed."""
    import numpy as np
    import pandas as pd

    epochs = min(len(g) for g in curve["grad_sq_norm"])
    values = np.median(np.array([g[:epochs] for g in curve["grad_sq_norm"]]), axis=0)
    return pd.DataFrame(
        {
            "layer": np.repeat(layers, epochs),
            "epoch": np.tile(np.arange(1, epochs + 1), len(layers)),
            "grad_sq_norm": values.T.reshape(-1),
        }
    )
