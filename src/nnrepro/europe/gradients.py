"""The per-layer gradient probe's layers and curves: how gradient magnitudes fade (or not) through a deep MLP, and
which units die (measured during training by europe.stacked)."""

import torch

from nnrepro.errors import UserError
from nnrepro.europe.mlp import MLP
from nnrepro.replicates import REPLICATE

DEAD_ROWS = 4096  # training rows on which a unit must be zero everywhere to count as dead (a fixed subsample)


def probed_weights(model: MLP, layers: list[int]) -> list[torch.Tensor]:
    """The weight of each requested hidden linear layer (0 = the input layer)."""
    depth = len(model.hidden)
    bad = [i for i in layers if not 0 <= i < depth]
    if bad:
        raise UserError(f"grad_probe.layers has {bad[0]}, outside 0..{depth - 1} for grad_probe.depth {depth}")
    return [model.linears()[i].weight for i in layers]


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


def replicate_summaries(runs: list[dict], layers: list[int]) -> dict:
    """Flat metrics per replicate (rep<k>): final validation accuracy, each layer's last-epoch gradient and dead
    fraction."""
    result = {}
    for k, r in enumerate(runs):
        row = {"final_validation_acc": _final(r["history"]), "diverged": bool(r["history"][-1]["diverged"])}
        for i, layer in enumerate(layers):
            row[f"layer_{layer}_grad_sq_norm"] = _sig(r["grads"][-1][i])
            row[f"layer_{layer}_dead_fraction"] = _sig(r["dead"][-1][i])
        result[REPLICATE.format(k)] = row
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
