"""An independent reference for europe.stacked: the MLP as a course writes it (nn.Sequential, torch.optim.Adam), one
run at a time, batches in the order of its own generator's torch.randperm. Shares no code with nnrepro's trainer;
tests/test_stacked.py and bench/run.py compare the stacked runs with it."""

import math

import torch
import torch.nn.functional as F
from torch import nn

SINE_ALPHAS = [round(0.1 * k, 1) for k in range(1, 11)]


class Sine(nn.Module):
    """sin(alpha * x) per coordinate and alpha, coordinate-major."""

    def __init__(self):
        super().__init__()
        self.register_buffer("alphas", torch.tensor(SINE_ALPHAS), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x.unsqueeze(-1) * self.alphas).flatten(1)


class Residual(nn.Module):
    """h + scale * block(h)."""

    def __init__(self, block: nn.Module, scale: float):
        super().__init__()
        self.block, self.scale = block, scale

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.scale * self.block(h)


def reference_net(
    depth: int, width: int, classes: int, *, seed: int, batchnorm=False, residual=False, features="xy"
) -> nn.Sequential:
    """Linear, [BatchNorm1d], ReLU per hidden layer, then a Linear; the Linear layers are made in order under
    torch.manual_seed(seed), so they start where nnrepro's MLP does under that seed."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = [Sine()] if features == "sine" else []
    widths = [20 if features == "sine" else 2] + [width] * depth
    for i in range(depth):
        block = nn.Sequential(nn.Linear(widths[i], width), *([nn.BatchNorm1d(width)] if batchnorm else []), nn.ReLU())
        layers.append(Residual(block, depth**-0.5) if residual and i > 0 else block)
    return nn.Sequential(*layers, nn.Linear(width, classes))


def linears(net: nn.Sequential) -> list[nn.Linear]:
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def pre_relu(net: nn.Sequential) -> list[nn.Module]:
    """Per hidden layer, the module whose output enters its ReLU."""
    return [block[-2] for block in net.modules() if isinstance(block, nn.Sequential) and block is not net]


def evaluate(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    net.eval()
    with torch.no_grad():
        logits = net(x)
    net.train()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def reference_run(
    net: nn.Module,
    splits: dict,
    *,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    first_epoch_evals: int = 1,
    probe_layers: list[int] | None = None,
):
    """One run; a history row after each evaluation (the first epoch `first_epoch_evals` times, evenly spaced,
    later ones at their end), stopping at a row whose train loss is not finite. With probe_layers also (grads,
    dead) per epoch and layer, measured by hooks: the squared weight-gradient norm averaged over the epoch's steps,
    and the fraction of units <= 0 on every one of the first 4096 training rows at the epoch's end."""
    x, y = splits["train"]
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    steps = math.ceil(len(y) / batch_size)
    probe = _Probe(net, probe_layers or [], x[:4096])
    history: list[dict] = []
    net.train()
    for epoch in range(epochs):
        evals = max(1, min(first_epoch_evals, steps)) if epoch == 0 else 1
        at = {round(steps * (j + 1) / evals) for j in range(evals)}
        loss_sum, correct, seen = 0.0, 0, 0
        for step, index in enumerate(torch.randperm(len(y), generator=generator).split(batch_size), 1):
            logits = net(x[index])
            loss = F.cross_entropy(logits, y[index])
            optimizer.zero_grad()
            loss.backward()
            probe.after_backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == y[index]).sum().item()
            seen += len(index)
            if step not in at:
                continue
            row = {"epoch": round(epoch + step / steps, 6), "train_loss": loss_sum / seen, "train_acc": correct / seen}
            row["diverged"] = not math.isfinite(row["train_loss"])
            for split in ("validation", "test"):
                row[f"{split}_loss"], row[f"{split}_acc"] = evaluate(net, *splits[split])
            history.append(row)
            if step == steps or row["diverged"]:
                probe.close(steps)
            if row["diverged"]:
                return (history, probe.grads, probe.dead) if probe_layers else history
            loss_sum, correct, seen = 0.0, 0, 0
    return (history, probe.grads, probe.dead) if probe_layers else history


class _Probe:
    def __init__(self, net: nn.Sequential, layers: list[int], sample: torch.Tensor):
        self.net, self.layers, self.sample = net, layers, sample
        self.weights = [linears(net)[i].weight for i in layers]
        self.running = [0.0] * len(layers)
        self.grads: list[list[float]] = []
        self.dead: list[list[float]] = []

    def after_backward(self) -> None:
        for j, w in enumerate(self.weights):
            assert w.grad is not None
            self.running[j] += w.grad.norm().item() ** 2

    def close(self, steps: int) -> None:
        if not self.layers:
            return
        outputs: dict[int, torch.Tensor] = {}
        modules = pre_relu(self.net)
        hooks = [
            modules[i].register_forward_hook(lambda _m, _in, out, i=i: outputs.__setitem__(i, out)) for i in self.layers
        ]
        evaluate(self.net, self.sample, torch.zeros(len(self.sample), dtype=torch.long))
        for hook in hooks:
            hook.remove()
        self.grads.append([r / steps for r in self.running])
        self.dead.append([(outputs[i] <= 0).all(0).float().mean().item() for i in self.layers])
        self.running = [0.0] * len(self.layers)


def as_mlp_state(net: nn.Sequential) -> dict[str, torch.Tensor]:
    """The net's parameters and BatchNorm buffers under nnrepro MLP's state_dict names."""
    state = {}
    layers = linears(net)
    for i, linear in enumerate(layers):
        name = "output" if i == len(layers) - 1 else f"hidden.{i}"
        state[f"{name}.weight"], state[f"{name}.bias"] = linear.weight.detach(), linear.bias.detach()
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
    for i, norm in enumerate(norms):
        for key, value in norm.state_dict().items():
            state[f"norms.{i}.{key}"] = value
    return state
