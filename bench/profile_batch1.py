"""Where a batch-size-1 optimizer step goes: per-step microseconds of each part and ATen ops per step.

Usage: python bench/profile_batch1.py   (writes bench/PROFILE.md; one thread, like the MLP stages)
"""

import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from nnrepro.europe import fastmlp
from nnrepro.europe.loop import flatten_parameters
from nnrepro.europe.mlp import MLP
from nnrepro.europe.points import NUM_CLASSES

STEPS, REPEATS = 3000, 5


def parts(x: torch.Tensor, y: torch.Tensor) -> dict:
    """Closures for slices of a step: autograd's forward + backward beside fastmlp's, then our whole step
    (fastmlp + fused Adam + running train stats) cumulatively."""
    torch.manual_seed(0)
    model = MLP(6, 16, NUM_CLASSES)
    joined = flatten_parameters(model)
    step, optimizer = fastmlp.Step(model), fastmlp.Adam(joined, 1e-3)
    loss_sum, correct = torch.zeros(()), torch.zeros(())

    def autograd(i):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        joined.grad.zero_()
        loss.backward()

    def fast(i):
        return step(x[i:i + 1], y[i:i + 1])

    def adam(i):
        fast(i)
        optimizer.step()

    def full(i):
        loss, logits = fast(i)
        optimizer.step()
        loss_sum.add_(loss)
        correct.add_((logits.argmax(1) == y[i:i + 1]).sum())

    return {"autograd forward + backward (the step before fastmlp)": autograd,
            "fastmlp forward + backward": fast, "+ fused Adam step (fastmlp.Adam)": adam,
            "+ running train loss and accuracy (our whole step)": full}


def microseconds(step) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for i in range(STEPS):
            step(i)
        times.append((time.perf_counter() - start) / STEPS * 1e6)
    return statistics.median(times)


def ops_per_step(step) -> float:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(200):
            step(i)
    return sum(e.count for e in prof.key_averages() if e.key.startswith("aten::")) / 200


def main() -> None:
    torch.set_num_threads(1)
    x, y = torch.randn(STEPS, 2) * 10, torch.randint(NUM_CLASSES, (STEPS,))
    rows = [(name, microseconds(step), ops_per_step(step)) for name, step in parts(x, y).items()]
    lines = ["# Batch size 1: where a step goes", "",
             f"`python bench/profile_batch1.py`, torch {torch.__version__}, one thread, MLP 6x16, median of "
             f"{REPEATS} x {STEPS} steps. ATen ops counted with torch.profiler (views and transposes included).", "",
             "| cumulative part of the step | microseconds per step | ATen ops per step |", "|---|---|---|"]
    lines += [f"| {name} | {us:.0f} | {ops:.0f} |" for name, us, ops in rows]
    Path(__file__).with_name("PROFILE.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
