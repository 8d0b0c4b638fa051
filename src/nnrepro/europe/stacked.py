"""K MLP runs of one shape trained as one computation, in public PyTorch: each layer of all K runs is one
torch.baddbmm over parameters stacked along a leading axis, the backward pass is written out (a few dozen ops a
step: autograd's graph costs more than these tiny products), and Adam is a few in-place ops over one flat buffer
holding every run's parameters. Each run keeps its own lr, seed, batch order, Adam state and BatchNorm statistics;
a single run is K = 1. Activations are laid out (K, features, batch): a layer is W @ h, BatchNorm reduces dim 2,
cross-entropy reads classes along dim 1. bench/run.py times this against the alternatives tried.

Agreement with a plain nn.Sequential + torch.optim.Adam loop run alone (tests/reference_loop.py; tested over a few
epochs, batch sizes 1 to 150, ragged last batches): plain, residual and sine nets within rtol 1e-4 / atol 1e-5 on
every weight and history row (sums and products round in another order). BatchNorm nets: train rows and every
weight that has a gradient within rtol 1e-3 / atol 1e-4. Their hidden biases before BatchNorm have a true gradient
of zero, so Adam turns rounding noise into lr-sized steps, on each side its own; BatchNorm removes them in
training, but the running means follow them, so validation and test rows agree only to a few 1e-2.
"""

import contextlib
import gc
import math
import time

import torch

from nnrepro.europe import gradients
from nnrepro.europe.mlp import MLP
from nnrepro.europe.schedule import eval_steps

EPS, MOMENTUM = 1e-5, 0.1  # nn.BatchNorm1d's defaults
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults
TINY = 1e-30  # added to Adam's v under its square root (see _Stack.adam)
# Rows a chunk of evaluation: a width-64 stack of 8 runs' activations in 2 MB. Not a power of two: 1024 rows put
# the classes 4 KB apart, the same cache sets, and torch.max and log_softmax over classes run twice as long.
EVAL_ROWS = 1000


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic collector off during the step loop: it makes no cycles, and each periodic full scan of a
    large heap costs as much as hundreds of small steps."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _predicted(logits: torch.Tensor) -> torch.Tensor:
    """Each row's class (K, B): logits.argmax(1), the first maximum, NaN counting as the maximum; torch.max's
    indices are the same and several times faster over classes along dim 1."""
    return torch.max(logits, 1).indices


class _Stack:
    """The K runs' parameters as views into one flat buffer (each parameter's K copies side by side), their
    gradients as views into one flat gradient, Adam's state, BatchNorm's running statistics; the stacked forward
    and backward passes."""

    def __init__(self, models: list[MLP], lrs: list[float]):
        m, self.k = models[0], len(models)
        self.depth, self.featurize = len(m.hidden), m.featurize
        self.residual, self.scale, self.bn = m.residual, m.branch_scale, not isinstance(m.norms[0], torch.nn.Identity)
        named = [dict(model.named_parameters()) for model in models]
        self.shapes = {name: p.shape for name, p in m.named_parameters()}
        self.flat = torch.cat([torch.stack([n[name].detach() for n in named]).reshape(-1) for name in self.shapes])
        self.grad, self.exp_avg, self.exp_avg_sq = (torch.zeros_like(self.flat) for _ in range(3))
        self.denom = torch.empty_like(self.flat)
        rates = torch.tensor(lrs, dtype=self.flat.dtype, device=self.flat.device)
        self.lr = lrs[0] if len(set(lrs)) == 1 else None
        self.lrs = torch.cat([rates.repeat_interleave(shape.numel()) for shape in self.shapes.values()])
        params, grads, offset = {}, {}, 0
        for name, shape in self.shapes.items():
            size = self.k * shape.numel()
            params[name] = self.flat[offset : offset + size].view(self.k, *shape)
            grads[name], offset = self.grad[offset : offset + size].view(self.k, *shape), offset + size
        names = [f"hidden.{i}" for i in range(self.depth)] + ["output"]
        self.w, self.dw = [params[f"{n}.weight"] for n in names], [grads[f"{n}.weight"] for n in names]
        self.w_t = [w.transpose(1, 2) for w in self.w]  # views, made once: backward's products read them
        self.b, self.db = [params[f"{n}.bias"].unsqueeze(2) for n in names], [grads[f"{n}.bias"] for n in names]
        self.params = params
        norms = [f"norms.{i}" for i in range(self.depth)] if self.bn else []
        self.gamma, self.beta = ([params[f"{n}.{s}"].unsqueeze(2) for n in norms] for s in ("weight", "bias"))
        self.dgamma, self.dbeta = ([grads[f"{n}.{s}"] for n in norms] for s in ("weight", "bias"))
        self.running = [
            [
                torch.stack([model.get_buffer(f"{n}.running_{s}") for model in models]).unsqueeze(2)
                for s in ("mean", "var")
            ]
            for n in norms
        ]  # per layer (K, width, 1) each
        self.minus_one = torch.full((1, 1, 1), -1.0, dtype=self.flat.dtype, device=self.flat.device)
        self.steps = 0

    def forward(self, h: torch.Tensor, training: bool, keep=()) -> tuple[torch.Tensor, list, dict]:
        """Logits (K, classes, B) of features h (K, in, B); what backward needs; the ReLU outputs (K, width, B) of
        hidden layers `keep` (0 exactly where the ReLU's input is <= 0)."""
        tape: list[tuple] = []
        kept = {}
        for i in range(self.depth):
            z, normed = torch.baddbmm(self.b[i], self.w[i], h), None
            if self.bn:
                z, normed = self._norm(i, z, training)
            a = torch.relu_(z)
            if i in keep:
                kept[i] = a
            tape.append((h, a, normed))
            h = h + self.scale * a if self.residual and i > 0 else a
        tape.append((h, None, None))
        return torch.baddbmm(self.b[-1], self.w[-1], h), tape, kept

    def _norm(self, i: int, z: torch.Tensor, training: bool) -> tuple[torch.Tensor, tuple | None]:
        """BatchNorm over the batch (dim 2) per run and unit, as nn.BatchNorm1d computes it; in training it updates
        the running statistics and returns (xhat, 1 / std) for backward."""
        mean, var = self.running[i]
        if not training:
            return torch.addcmul(self.beta[i], (z - mean) * (var + EPS).rsqrt(), self.gamma[i]), None
        batch_mean = z.mean(2, keepdim=True)
        centred = z - batch_mean
        batch_var = centred.square().mean(2, keepdim=True)
        mean.lerp_(batch_mean, MOMENTUM)
        var.lerp_(batch_var * (z.shape[2] / (z.shape[2] - 1)), MOMENTUM)  # the running variance is unbiased
        inverse = (batch_var + EPS).rsqrt_()
        xhat = centred.mul_(inverse)
        return torch.addcmul(self.beta[i], xhat, self.gamma[i]), (xhat, inverse)

    def step(self, x: torch.Tensor, y: torch.Tensor, loss_sum: torch.Tensor, correct: torch.Tensor) -> None:
        """Gradients of each run's mean cross-entropy on its batch x (K, in, B), y (K, B) into self.grad; adds each
        run's summed loss and count of right predictions to loss_sum and correct (K,).

        One softmax serves both: a row's loss is log(sum(exp(z - max))) + max - z_y, as log_softmax computes it,
        with sum(exp(z - max)) = 1 / (the largest probability), which never underflows. A row counts right when its
        target's logit is the largest, which is argmax save where a row's largest logit is tied (a tie with an earlier
        class counts right here). In a step where some row's loss is not finite (a run diverging) the rows are counted
        by torch.max's indices, as argmax counts them (NaN as the largest)."""
        logits, tape, _ = self.forward(x, True)
        target = y.unsqueeze(1)
        top, chosen = logits.amax(1, keepdim=True), logits.gather(1, target)
        right = (chosen >= top).sum((1, 2))
        grad = torch.softmax(logits, 1)
        losses = top.sub_(chosen).sub_(grad.amax(1, keepdim=True).log_()).sum((1, 2))
        if not math.isfinite(sum(losses.tolist())):  # the sum of non-negative losses is finite exactly when each is
            right = (_predicted(logits) == y).sum(1)
        loss_sum.add_(losses)
        correct.add_(right)
        grad.scatter_add_(1, target, self.minus_one.expand(target.shape)).mul_(1 / y.shape[1])
        self.backward(grad, tape)

    def backward(self, grad: torch.Tensor, tape: list) -> None:
        """The logits' gradient back through the layers into self.grad: `grad` is in turn each hidden layer's
        output's gradient, then its pre-activation's."""
        for i in range(self.depth, -1, -1):
            h, a, normed = tape[i]
            skip = None
            if i < self.depth:
                if self.residual and i > 0:  # its output was h + scale * a
                    skip, grad = grad, grad * self.scale
                grad = grad.mul_(torch.sign(a))  # through the ReLU
                if normed is not None:
                    grad = self._norm_backward(i, grad, *normed)
            torch.bmm(grad, h.transpose(1, 2), out=self.dw[i])
            torch.sum(grad, 2, out=self.db[i])
            if i > 0:
                back = torch.bmm(self.w_t[i], grad)
                grad = back if skip is None else back.add_(skip)

    def _norm_backward(self, i: int, grad: torch.Tensor, xhat: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        """BatchNorm's input gradient from its output's; its weight and bias gradients into self.grad."""
        torch.sum(grad, 2, out=self.dbeta[i])
        torch.sum(grad * xhat, 2, out=self.dgamma[i])
        n = grad.shape[2]
        centred = torch.addcmul(grad, xhat, self.dgamma[i].unsqueeze(2), value=-1 / n)  # one pass, not two
        return centred.sub_(self.dbeta[i].unsqueeze(2) / n).mul_(self.gamma[i] * inverse)

    def adam(self) -> None:
        """torch.optim.Adam's update of every run at once, each at its own lr: lr / (1 - beta1^t) * m / (sqrt(v) /
        sqrt(1 - beta2^t) + eps), written lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps').

        The square root is taken of v + TINY: torch.sqrt of an exact zero (a parameter whose gradient has always been
        zero, as a dead unit's) costs several times that of a normal number. Where v = 0, m = 0 and the step is zero
        either way; v + TINY rounds to v for v > 1e-22, and below it the denominator moves by at most sqrt(TINY) =
        1e-15, under 4e-6 of eps' (at least 3e-10)."""
        self.steps += 1
        self.exp_avg.lerp_(self.grad, 1 - BETA1)
        self.exp_avg_sq.mul_(BETA2).addcmul_(self.grad, self.grad, value=1 - BETA2)
        root = math.sqrt(1 - BETA2**self.steps)
        denom = torch.add(self.exp_avg_sq, TINY, out=self.denom).sqrt_().add_(ADAM_EPS * root)
        if self.lr is None:  # runs at different lrs: each element's own
            denom.div_(self.lrs)
        lr = 1.0 if self.lr is None else self.lr
        self.flat.addcdiv_(self.exp_avg, denom, value=-lr * root / (1 - BETA1**self.steps))

    def evaluate(self, feats: torch.Tensor, y: torch.Tensor) -> list[tuple[float, float]]:
        """Per run: mean cross-entropy and accuracy on a whole split (features (in, N)) in eval mode, in chunks
        of rows small enough for the activations to stay in cache."""
        losses, right = torch.zeros(self.k, device=y.device), torch.zeros(self.k, device=y.device)
        for x_part, y_part in zip(feats.split(EVAL_ROWS, 1), y.split(EVAL_ROWS)):
            logits = self.forward(x_part.expand(self.k, *x_part.shape), False)[0]
            losses.sub_(torch.log_softmax(logits, 1).gather(1, y_part.expand(self.k, 1, -1)).sum((1, 2)))
            right.add_((_predicted(logits) == y_part).sum(1))
        return list(zip((losses / len(y)).tolist(), (right / len(y)).tolist()))

    def state_dict(self, k: int, model: MLP) -> dict:
        """Run k's state as it is now, in model.state_dict()'s form."""
        state = {name: p[k].clone() for name, p in self.params.items()}
        for i, (mean, var) in enumerate(self.running):
            tracked = model.norms[i].get_buffer("num_batches_tracked")
            state[f"norms.{i}.running_mean"], state[f"norms.{i}.running_var"] = (
                mean[k, :, 0].clone(),
                var[k, :, 0].clone(),
            )
            state[f"norms.{i}.num_batches_tracked"] = tracked + self.steps
        return state


class _Probe:
    """Per run, each probed hidden layer's squared weight-gradient norm averaged over an epoch's steps, and its
    dead-unit fraction (units <= 0 on every one of the first gradients.DEAD_ROWS training rows) at the epoch's end."""

    def __init__(self, stack: _Stack, layers: list[int], sample: torch.Tensor, steps: int):
        self.stack, self.layers, self.steps = stack, layers, steps
        self.running = torch.zeros(stack.k, len(layers), device=sample.device)
        self.sample = sample.expand(stack.k, *sample.shape)
        self.grads: list[list[list[float]]] = [[] for _ in range(stack.k)]  # per run, epoch and layer
        self.dead: list[list[list[float]]] = [[] for _ in range(stack.k)]

    def accumulate(self) -> None:
        self.running.add_(torch.stack([self.stack.dw[i].square().sum((1, 2)) for i in self.layers], 1))

    def close(self, runs: list[int]) -> None:
        """End the epoch of `runs` (all live runs at an epoch's end, or those that diverged)."""
        grads = (self.running / self.steps).tolist()
        acts = self.stack.forward(self.sample, False, keep=self.layers)[2]
        dead = torch.stack([(acts[i] == 0).all(2).float().mean(1) for i in self.layers], 1).tolist()
        for k in runs:
            self.grads[k].append(grads[k])
            self.dead[k].append(dead[k])
        self.running[runs] = 0


def _batches(feats_t: torch.Tensor, y: torch.Tensor, generators: list, batch_size: int) -> list[tuple]:
    """An epoch's batches (x (K, in, B), y (K, B)) of features feats_t (in, n), each run's in the order of its own
    generator's torch.randperm, gathered in one go along the rows' contiguous axis; the last batch may be smaller.
    The batches are strided views of what was gathered (the products read them as they are: no copy)."""
    order = torch.stack([torch.randperm(len(y), generator=g, device=y.device) for g in generators])
    k, whole = len(generators), len(y) // batch_size
    full, width = whole * batch_size, feats_t.shape[0]
    rows = order[:, :full].reshape(-1)
    x_full = feats_t.index_select(1, rows).view(width, k, whole, batch_size).permute(2, 1, 0, 3)
    y_full = y.index_select(0, rows).view(k, whole, batch_size).transpose(0, 1)
    batches = list(zip(x_full.unbind(), y_full.unbind()))
    if full < len(y):
        rest = order[:, full:]
        batches.append((feats_t[:, rest].transpose(0, 1).contiguous(), y[rest]))
    return batches


def _check(models: list[MLP], lrs: list[float], seeds: list[int]) -> None:
    if not models or len(lrs) != len(models) or len(seeds) != len(models):
        raise ValueError(f"need one lr and one seed per model, not {len(models)}, {len(lrs)} and {len(seeds)}")
    shapes = {
        (m.features, m.residual, tuple((n, p.shape, p.dtype, p.device) for n, p in m.state_dict().items()))
        for m in models
    }
    if len(shapes) > 1:
        raise ValueError("stacked models must share depth, width, classes, features, batchnorm and residual")


@_gc_paused()
@torch.inference_mode()  # not no_grad: ops skip autograd's bookkeeping too (6% of a 6x16 step)
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
    """Train each models[k] with Adam at lrs[k] on cross-entropy, its batch order drawn each epoch by
    torch.randperm from a generator seeded with seeds[k]; copy each run's final state back into models[k].

    The first epoch is evaluated `first_epoch_evals` times, evenly spaced, every later one at its end. Returns the
    K histories (one row per evaluation: train loss and accuracy over the steps since the last one, validation and
    test loss and accuracy, `diverged`, `seconds` of training so far), or with `probe_layers` (histories, grads,
    dead), per run [epoch][layer]. `report(k, row)` sees every row. A run whose train loss stops being finite ends
    its history there and keeps the weights it had then; the others go on.
    """
    _check(models, lrs, seeds)
    x, y = splits["train"]
    stack = _Stack(models, lrs)
    if stack.bn and (batch_size == 1 or len(y) % batch_size == 1):
        raise ValueError("BatchNorm in training mode needs more than one row in every batch")
    feats = stack.featurize(x)  # elementwise per row: featurising once and gathering equals featurising each batch
    feats_t = feats.T.contiguous()
    evaluated = {s: (stack.featurize(sx).T.contiguous(), sy) for s, (sx, sy) in splits.items() if s != "train"}
    generators = [torch.Generator(device=x.device).manual_seed(seed) for seed in seeds]
    steps = math.ceil(len(y) / batch_size)
    probe = None
    if probe_layers is not None:
        gradients.probed_weights(models[0], probe_layers)  # the same check and message for bad layer numbers
        probe = _Probe(stack, probe_layers, feats[: gradients.DEAD_ROWS].T.contiguous(), steps)
    histories: list[list[dict]] = [[] for _ in models]
    finals: dict[int, dict] = {}
    live, seconds = list(range(len(models))), 0.0
    loss_sum, correct = torch.zeros(len(models), device=x.device), torch.zeros(len(models), device=x.device)
    for epoch in range(epochs):
        evals, seen, start = eval_steps(steps, first_epoch_evals) if epoch == 0 else {steps}, 0, time.perf_counter()
        for step, (xb, yb) in enumerate(_batches(feats_t, y, generators, batch_size), 1):
            stack.step(xb, yb, loss_sum, correct)
            seen += yb.shape[1]
            if probe is not None:
                probe.accumulate()
            stack.adam()
            if step not in evals:
                continue
            seconds += time.perf_counter() - start
            rows = _rows(stack, evaluated, epoch + step / steps, loss_sum / seen, correct / seen, seconds)
            ended = [k for k in live if rows[k]["diverged"]]
            if probe is not None and (step == steps or ended):
                probe.close(live if step == steps else ended)
            for k in live:
                histories[k].append(rows[k])
                if report is not None:
                    report(k, rows[k])
            finals.update({k: stack.state_dict(k, models[k]) for k in ended})
            live = [k for k in live if k not in ended]
            if not live:
                break
            loss_sum.zero_()
            correct.zero_()
            seen, start = 0, time.perf_counter()
        if not live:
            break
    for k, model in enumerate(models):
        model.load_state_dict(finals[k] if k in finals else stack.state_dict(k, model))
        model.train()
    return histories if probe is None else (histories, probe.grads, probe.dead)


def _rows(stack: _Stack, evaluated: dict, epoch: float, loss: torch.Tensor, acc: torch.Tensor, seconds: float):
    """Each run's history row at this evaluation."""
    rows = [
        {"epoch": round(epoch, 6), "train_loss": a, "train_acc": b, "diverged": not math.isfinite(a)}
        for a, b in zip(loss.tolist(), acc.tolist())
    ]
    for split in ("validation", "test"):
        for row, (split_loss, split_acc) in zip(rows, stack.evaluate(*evaluated[split]) if split in evaluated else []):
            row[f"{split}_loss"], row[f"{split}_acc"] = split_loss, split_acc
    return [{**row, "seconds": seconds} for row in rows]
