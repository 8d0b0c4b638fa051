"""The per-layer gradient probe: how gradient magnitudes fade (or not) through a deep MLP."""

import math

import torch

from nnrepro.errors import UserError
from nnrepro.mlp import MLP
from nnrepro.train import train


def probed_weights(model: MLP, layers: list[int]) -> list[torch.Tensor]:
    """The weight of each requested hidden linear layer (0 = the input layer)."""
    depth = len(model.hidden)
    bad = [i for i in layers if not 0 <= i < depth]
    if bad:
        raise UserError(f"grad_probe.layers has {bad[0]}, outside 0..{depth - 1} for grad_probe.depth {depth}")
    return [model.hidden[i].weight for i in layers]


def squared_grad_norms(weights: list[torch.Tensor]) -> torch.Tensor:
    """Squared L2 norm of each weight's current gradient, as one tensor (no host sync)."""
    return torch.stack(torch._foreach_norm([w.grad for w in weights])) ** 2


def train_with_probe(model: MLP, splits: dict, layers: list[int], *, lr: float, epochs: int, batch_size: int,
                     seed: int, report=None) -> tuple[list[dict], list[list[float]]]:
    """Train as usual; also return, per epoch, each probed layer's squared gradient norm averaged over batches."""
    weights = probed_weights(model, layers)
    steps = math.ceil(len(splits["train"][1]) / batch_size)
    running = torch.zeros(len(layers), device=weights[0].device)
    per_epoch = []

    def accumulate() -> None:
        running.add_(squared_grad_norms(weights))

    def close_epoch(row: dict) -> None:
        per_epoch.append((running / steps).tolist())
        running.zero_()
        if report is not None:
            report(row)

    history = train(model, splits, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed,
                    after_backward=accumulate, report=close_epoch)
    return history, per_epoch
