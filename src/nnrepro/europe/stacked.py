"""K independent MLPs of one shape trained as one computation, stacked along a leading axis of length K: each
layer of all K runs is one torch.baddbmm/bmm (see runwise), as per-call overhead dominates these tiny nets. Each
run keeps its own batch order (its own generator), lr, Adam state and BatchNorm statistics.

Equality with loop.train run alone, per run: bit for bit (weights, BatchNorm buffers, every history row but
train_loss, probe values) for plain, residual, sine and BatchNorm nets, as tested with torch's MKL on one thread at
widths 3..64, batch sizes 1..256 and ragged last batches; train_loss to ~1e-7 relative (summed per row, not per
batch mean). Under another BLAS or CPU, where runwise's rules may not hold, expect rtol 1e-5 over short runs of
plain nets, but drift in BatchNorm nets' pre-norm biases: their true gradient is zero, so Adam turns rounding noise
in it into lr-sized steps.
"""

import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nnrepro.europe import gradients, runwise
from nnrepro.europe.loop import eval_steps, gc_paused, predicted
from nnrepro.europe.mlp import MLP

NONE, IGNORE = 0, -100  # ATen's reduction code for "none"; cross_entropy's default ignore_index
EPS, MOMENTUM = 1e-5, 0.1  # nn.BatchNorm1d's defaults
ADAM: dict[str, Any] = {
    "amsgrad": False,
    "beta1": 0.9,
    "beta2": 0.999,
    "weight_decay": 0.0,
    "eps": 1e-8,
    "maximize": False,
}
ROW = 16  # floats a run's row of the flat buffers is padded to, so that its parameters lie as in its own
VECTOR = 16  # floats in ATen's widest CPU vector: BatchNorm rounds a block of another width otherwise


class _Stack:
    """The K runs' parameters as the rows of one (K, P) buffer, with their gradients, Adam state and BatchNorm
    statistics, and the hand-written stacked forward and backward passes."""

    def __init__(self, models: list[MLP], lrs: list[float]):
        m, self.k, self.lrs = models[0], len(models), lrs
        self.depth, self.width, self.features = len(m.hidden), m.output.in_features, m.featurize
        self.residual, self.scale, self.bn = m.residual, m.branch_scale, isinstance(m.norms[0], nn.BatchNorm1d)
        self.ragged = self.bn and self.width % VECTOR != 0
        rows = torch.stack([torch.cat([p.detach().reshape(-1) for p in model.parameters()]) for model in models])
        self.size = rows.shape[1]
        self.flat = F.pad(rows, (0, -self.size % ROW))
        self.grad, self.exp_avg, self.exp_avg_sq = (torch.zeros_like(self.flat) for _ in range(3))
        self.steps = torch.zeros(self.k, dtype=torch.float32, device=rows.device)  # fused Adam's step counters
        views, offset = {}, 0
        for name, p in m.named_parameters():
            views[name] = (self.flat[:, offset : offset + p.numel()].view(self.k, *p.shape), offset)
            offset += p.numel()
        names = [f"hidden.{i}" for i in range(self.depth)] + ["output"]
        self.w = [views[f"{n}.weight"][0] for n in names]
        self.wt = [w.transpose(1, 2) for w in self.w]
        self.b = [views[f"{n}.bias"][0].unsqueeze(1) for n in names]
        # Gradient buffers, joined into self.grad by one cat per step, placed as loop.train's: in the flat gradient
        # (fastmlp, for plain nets) or fresh (autograd, for BatchNorm nets).
        self.dw = [
            runwise.buffer(self.k, w.shape[1:], 0 if self.bn else views[f"{n}.weight"][1], w.device)
            for n, w in zip(names, self.w)
        ]
        self.db = [torch.empty(b.shape[0], b.shape[2], device=b.device) for b in self.b]
        self.pieces = [t.view(self.k, -1) for pair in zip(self.dw, self.db) for t in pair]
        self.pad = [rows.new_zeros(self.k, self.flat.shape[1] - self.size)]
        self.inverse: dict[int, torch.Tensor] = {}  # nll_loss's per-row weights by batch size
        self.total = rows.new_empty(())  # and its total
        if self.bn:  # the norms' weights and biases are one block of each row; gathered per layer as (2, K, width)
            start = views["norms.0.weight"][1]
            self.bn_rows = (
                self.flat[:, start : start + 2 * self.depth * self.width]
                .view(self.k, self.depth, 2, self.width)
                .permute(1, 2, 0, 3)
            )
            self.bn_params = rows.new_empty(self.bn_rows.shape)
            self.running = torch.stack(
                [
                    torch.stack(
                        [
                            torch.cat([getattr(model.norms[i], f"running_{s}") for model in models])
                            for i in range(self.depth)
                        ]
                    )
                    for s in ("mean", "var")
                ]
            )  # (2, depth, K * width)
            params = self.bn_params.view(self.depth, 2, -1)  # per layer: weight, bias, running mean and variance
            self.norms = [
                (params[i, 0], params[i, 1], self.running[0, i], self.running[1, i]) for i in range(self.depth)
            ]
        self.set_active(range(self.k))

    def set_active(self, runs) -> None:
        """One fused Adam call per distinct lr, over the row views of the given runs."""
        state = [t[:, : self.size] for t in (self.flat, self.grad, self.exp_avg, self.exp_avg_sq)] + [self.steps]
        self.groups = [
            (lr, [[t[k] for k in runs if self.lrs[k] == lr] for t in state])
            for lr in sorted({self.lrs[k] for k in runs})
        ]

    def adam(self) -> None:
        self.steps.add_(1)
        for lr, (params, grads, exp_avg, exp_avg_sq, steps) in self.groups:
            torch._fused_adam_(params, grads, exp_avg, exp_avg_sq, [], steps, lr=lr, **ADAM)

    def step(self, x: torch.Tensor, y: torch.Tensor, losses: torch.Tensor, predictions: torch.Tensor) -> None:
        """One training step of all runs on x (K, B, features), y (K, B): gradients into self.grad, each row's
        loss and predicted class into losses and predictions (K, B)."""
        logits, inputs, acts, saved, _ = self.forward(x, True)
        k, n, c = logits.shape
        logp = torch._log_softmax(logits.view(k * n, c), 1, False)
        torch.ops.aten.nll_loss_forward.output(
            logp, y.view(-1), None, NONE, IGNORE, output=losses.view(-1), total_weight=self.total
        )
        if n not in self.inverse:  # per-row weights 1/n: nll_loss_backward then writes each run's mean gradient
            self.inverse[n] = torch.full((k * n,), 1 / n, device=logp.device)
        grad = torch.ops.aten.nll_loss_backward(self.inverse[n], logp, y.view(-1), None, NONE, IGNORE, self.total)
        grad = torch.ops.aten._log_softmax_backward_data(grad, logp, 1, logp.dtype)
        predicted(logits, 2, out=predictions)
        self.backward(grad.view(k, n, c), inputs, acts, saved)

    def forward(self, h: torch.Tensor, training: bool, keep=()):
        """Logits (K, B, classes) of features h (K, B, in); each layer's input, each hidden layer's ReLU output and
        BatchNorm's saved tensors (for backward); the pre-ReLU outputs of hidden layers `keep`."""
        if self.bn:
            self.bn_params.copy_(self.bn_rows)
        inputs, acts, saved, pre = [], [], [], {}
        small_loop = training and not self.bn  # as the run alone: fastmlp's step, else nn.Linear
        for i in range(self.depth):
            inputs.append(h)
            z = runwise.baddbmm(self.b[i], h, self.wt[i], small_loop)
            if self.bn:
                z, s = self._batchnorm(i, z, training)
                saved.append(s)
            if i in keep:
                pre[i] = self._unstack(z)
            acts.append(torch.relu(z) if keep else torch.relu_(z))
            a = self._unstack(acts[-1])
            h = h + self.scale * a if self.residual and i > 0 else a  # as MLP.forward rounds it
        inputs.append(h)
        return runwise.baddbmm(self.b[-1], h, self.wt[-1], small_loop), inputs, acts, saved, pre

    def _batchnorm(self, i: int, z: torch.Tensor, training: bool):
        """BatchNorm of z (K, B, width) laid out (B, K * width): K * width channels, so per-run per-unit
        statistics, through the kernel nn.BatchNorm1d uses."""
        zt = z.transpose(0, 1).reshape(z.shape[1], -1)
        y, mean, invstd = torch.native_batch_norm(zt, *self.norms[i], training, MOMENTUM, EPS)
        return y, (zt, mean, invstd)

    def _unstack(self, a: torch.Tensor) -> torch.Tensor:
        """A (B, K * width) BatchNorm-layout tensor as (K, B, width); other tensors as they are."""
        if self.bn:
            a = a.view(a.shape[0], self.k, -1).transpose(0, 1)
        return a.contiguous() if self.ragged else a  # MKL rounds misaligned rows otherwise

    def backward(self, grad: torch.Tensor, inputs: list, acts: list, saved: list) -> None:
        """grad (of the logits) back through the layers into self.grad; `grad_h` is the gradient of each layer's h."""
        grad_z, grad_h = grad, None  # grad_h is set by the output layer, the first one through
        bn_grads: list[torch.Tensor] = []
        for i in range(self.depth, -1, -1):
            branch = self.residual and 0 < i < self.depth
            if i < self.depth:
                assert grad_h is not None
                grad_a = grad_h * self.scale if branch else grad_h
                if self.bn:
                    grad_z, gamma_grad, beta_grad = self._batchnorm_backward(i, grad_a, acts[i], saved[i])
                    bn_grads[:0] = [gamma_grad.view(self.k, -1), beta_grad.view(self.k, -1)]
                else:
                    grad_z = torch.ops.aten.threshold_backward(grad_a, acts[i], 0)
            runwise.bmm(grad_z.transpose(1, 2), inputs[i], self.dw[i], weights=False, small_loop=not self.bn)
            torch.sum(grad_z, 1, out=self.db[i])
            if i > 0:
                grad_in = runwise.bmm(grad_z, self.w[i], small_loop=not self.bn)
                grad_h = grad_h + grad_in if branch and grad_h is not None else grad_in
        hidden = 2 * self.depth
        torch.cat(self.pieces[:hidden] + bn_grads + self.pieces[hidden:] + self.pad, 1, out=self.grad)

    def _batchnorm_backward(self, i: int, grad_a: torch.Tensor, act: torch.Tensor, saved: tuple):
        """Gradients of BatchNorm's input (K, B, width, contiguous), weight and bias, given those of the ReLU
        output `act` (B, K * width) after it."""
        zt, mean, invstd = saved
        grad_y, runs = act.new_empty(act.shape), (act.shape[0], self.k, -1)  # straight into BatchNorm's layout
        torch.ops.aten.threshold_backward.grad_input(
            grad_a.transpose(0, 1), act.view(runs), 0, grad_input=grad_y.view(runs)
        )
        args = (self.norms[i][0], *self.norms[i][2:], mean, invstd)
        if self.ragged:  # a block ending in a partial vector rounds otherwise than whole vectors: per run
            per_run = zip(*(t.view(*t.shape[:-1], self.k, -1).unbind(-2) for t in (grad_y, zt, *args)))
            parts = [
                torch.ops.aten.native_batch_norm_backward(g.contiguous(), z.contiguous(), *a, True, EPS, [True] * 3)
                for g, z, *a in per_run
            ]
            return torch.stack([p[0] for p in parts]), *(torch.cat([p[j] for p in parts]) for j in (1, 2))
        grad_z, gamma_grad, beta_grad = torch.ops.aten.native_batch_norm_backward(
            grad_y, zt, *args, True, EPS, [True] * 3
        )
        # Contiguous (K, B, width): summed over the batch it then rounds as the run alone rounds it.
        return self._unstack(grad_z).contiguous(), gamma_grad, beta_grad

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> list[tuple[float, float]]:
        """Per run: mean cross-entropy and accuracy on a whole split in eval mode, as train.evaluate computes them."""
        feats = self.features(x)
        logits = self.forward(feats.expand(self.k, *feats.shape), False)[0]
        losses = torch.stack([F.cross_entropy(run, y) for run in logits])  # per run: the same summation order
        return list(zip(losses.tolist(), (predicted(logits, 2) == y).float().mean(1).tolist()))

    def state_dict(self, k: int, model: MLP, steps: int) -> dict:
        """Run k's state as it is now, after `steps` steps, in model.state_dict()'s form."""
        state, params = {}, self.flat[k, : self.size].clone()
        for name, p in model.named_parameters():
            state[name], params = params[: p.numel()].view_as(p), params[p.numel() :]
        if self.bn:
            running, tracked = self.running.view(2, self.depth, self.k, -1)[:, :, k].clone(), model.state_dict()
            for i in range(self.depth):
                state.update(
                    {
                        f"norms.{i}.running_mean": running[0, i],
                        f"norms.{i}.running_var": running[1, i],
                        f"norms.{i}.num_batches_tracked": tracked[f"norms.{i}.num_batches_tracked"] + steps,
                    }
                )
        return state


class _Probe:
    """gradients.train_with_probe's measures for every run: each probed hidden layer's squared weight-gradient
    norm averaged over an epoch's steps, and its dead-unit fraction at the end of the epoch."""

    def __init__(self, stack: _Stack, model: MLP, layers: list[int], x: torch.Tensor, steps: int):
        gradients.probed_weights(model, layers)  # the same check and message for bad layer numbers
        self.stack, self.layers, self.steps = stack, layers, steps
        self.views = [stack.dw[i][k] for k in range(stack.k) for i in layers]  # run-major, like running below
        self.running = torch.zeros(stack.k, len(layers), device=x.device)
        sample = stack.features(x[: gradients.DEAD_ROWS])
        self.sample = sample.expand(stack.k, *sample.shape)
        self.grads: list[list[list[float]]] = [[] for _ in range(stack.k)]  # per run, epoch and layer
        self.dead: list[list[list[float]]] = [[] for _ in range(stack.k)]

    def accumulate(self) -> None:
        self.running.view(-1).add_(torch.stack(torch._foreach_norm(self.views)) ** 2)

    def close(self, runs: list[int]) -> None:
        """End the epoch of `runs` (all at an epoch's end, or those that diverged mid-epoch)."""
        grads = (self.running / self.steps).tolist()
        pre = self.stack.forward(self.sample, False, keep=self.layers)[4]
        dead = torch.stack([(pre[i] <= 0).all(1).float().mean(1) for i in self.layers], 1).tolist()
        for k in runs:
            self.grads[k].append(grads[k])
            self.dead[k].append(dead[k])
        self.running[runs] = 0


def _batches(feats: torch.Tensor, y: torch.Tensor, generators: list, batch_size: int) -> list[tuple]:
    """An epoch's steps: batches x (K, B, in), y (K, B), each run's in its own order as loop.train draws it,
    gathered at once, with room for each row's loss and prediction; the last batch may be smaller."""
    k, n = len(generators), len(y)
    order = torch.stack([torch.randperm(n, generator=g, device=feats.device) for g in generators])
    full = n // batch_size * batch_size
    steps: list[tuple[torch.Tensor, ...]] = []
    for index in filter(
        torch.numel, (order[:, :full].view(k, -1, batch_size).transpose(0, 1), order[:, full:].unsqueeze(0))
    ):
        xs = feats.index_select(0, index.reshape(-1)).view(*index.shape, -1)
        ys = y.index_select(0, index.reshape(-1)).view(index.shape)
        losses, predictions = torch.empty(index.shape, dtype=feats.dtype, device=feats.device), torch.empty_like(ys)
        steps += zip(xs.unbind(), ys.unbind(), losses.unbind(), predictions.unbind())  # views: no per-step allocation
    return steps


def _rows(stack: _Stack, splits: dict, epoch: float, steps: list[tuple], seconds: float) -> list[dict]:
    """Each run's history row over these steps of _batches, as loop.train writes it."""
    y, losses, predictions = (torch.cat([step[j] for step in steps], 1) for j in (1, 2, 3))
    means = zip((losses.sum(1) / y.shape[1]).tolist(), ((predictions == y).sum(1) / y.shape[1]).tolist())
    rows = [
        {"epoch": round(epoch, 6), "train_loss": loss, "train_acc": acc, "diverged": not math.isfinite(loss)}
        for loss, acc in means
    ]
    for split in ("validation", "test"):
        for row, (loss, acc) in zip(rows, stack.evaluate(*splits[split]) if split in splits else []):
            row[f"{split}_loss"], row[f"{split}_acc"] = loss, acc
    return [{**row, "seconds": seconds} for row in rows]


@gc_paused()
@torch.no_grad()
def train_stacked(
    models: list[MLP],
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    lrs: list[float],
    seeds: list[int],
    epochs: int,
    batch_size: int,
    first_epoch_evals: int = 1,
    probe_layers: list[int] | None = None,
    report=None,
):
    """Train models[k] as loop.train(models[k], splits, lr=lrs[k], seed=seeds[k], ...) would, all K at once, and
    copy each run's final weights and BatchNorm buffers back into models[k].

    Returns the K histories, or with `probe_layers` (histories, grads, dead) as gradients.train_with_probe returns
    them, per run (grads[k][epoch][layer]). `report(k, row)` sees every row. A run whose loss stops being finite
    ends its history and keeps its weights there; the others go on. `seconds`: the stack's training time so far.
    """
    if not models or len(lrs) != len(models) or len(seeds) != len(models):
        raise ValueError(f"need one lr and one seed per model, not {len(models)}, {len(lrs)} and {len(seeds)}")
    if (
        len(
            {
                (m.features, m.residual, tuple((n, p.shape, p.dtype, p.device) for n, p in m.state_dict().items()))
                for m in models
            }
        )
        > 1
    ):
        raise ValueError("stacked models must share depth, width, classes, features, batchnorm and residual")
    x, y = splits["train"]
    stack = _Stack(models, lrs)
    if stack.bn and (batch_size == 1 or len(y) % batch_size == 1):
        raise ValueError("BatchNorm in training mode needs more than one row in every batch")
    feats = stack.features(x)  # elementwise, so featurising once and gathering equals featurising each batch
    generators = [torch.Generator(device=x.device).manual_seed(seed) for seed in seeds]
    steps = math.ceil(len(y) / batch_size)
    probe = _Probe(stack, models[0], probe_layers, x, steps) if probe_layers is not None else None
    histories: list[list[dict]]
    histories, finals, live, seconds, done = [[] for _ in models], {}, list(range(len(models))), 0.0, 0
    for epoch in range(epochs):
        if not live:
            break
        evals = eval_steps(steps, first_epoch_evals) if epoch == 0 else {steps}
        batches, last, start = _batches(feats, y, generators, batch_size), 0, time.perf_counter()
        for step, batch in enumerate(batches, 1):
            stack.step(*batch)
            if probe is not None:
                probe.accumulate()
            stack.adam()
            done += 1
            if step not in evals:
                continue
            seconds += time.perf_counter() - start
            rows = _rows(stack, splits, epoch + step / steps, batches[last:step], seconds)
            ended = [k for k in live if rows[k]["diverged"]]
            if probe is not None and (step == steps or ended):
                probe.close(live if step == steps else ended)
            for k in live:
                histories[k].append(rows[k])
                if report is not None:
                    report(k, rows[k])
            finals.update({k: stack.state_dict(k, models[k], done) for k in ended})
            live = [k for k in live if k not in ended]
            if not live:
                break
            stack.set_active(live)
            last, start = step, time.perf_counter()
    for k, model in enumerate(models):
        model.load_state_dict(finals[k] if k in finals else stack.state_dict(k, model, done))
        model.train()
    return histories if probe is None else (histories, probe.grads, probe.dead)
