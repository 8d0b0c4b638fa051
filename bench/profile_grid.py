"""What bounds the largest stage (mlp_grid): its 16 cells x `seeds` replicates, stacked as the stage stacks them,
trained for one epoch each under torch.profiler on one thread (as each worker runs). Prints the ATen ops by self
CPU time, grouped into matrix products, softmax/loss, elementwise and the rest, and per cell width the share of the
time. Usage: python bench/profile_grid.py [--seeds 3] [--epochs 1] (writes bench/PROFILE_GRID.md)"""

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).parent))
import sidebyside  # noqa: E402

from nnrepro import io, replicates  # noqa: E402
from nnrepro.europe import points, runs  # noqa: E402

DEPTHS, WIDTHS, LR, BATCH = (1, 2, 6, 10), (8, 16, 32, 64), 0.001, 256
GROUPS = {"matrix products": ("bmm", "baddbmm", "addmm", "mm"),
          "softmax, loss, predicted class": ("_log_softmax", "_log_softmax_backward_data", "nll_loss_forward",
                                             "nll_loss_backward", "argmax", "max"),
          "elementwise and reductions": ("threshold_backward", "relu_", "clamp_min_", "sum", "copy_", "add_", "cat",
                                         "fill_", "_fused_adam_", "index_select")}
OUT = Path(__file__).resolve().parent / "PROFILE_GRID.md"


def group_of(name: str) -> str:
    op = name.removeprefix("aten::")
    return next((group for group, ops in GROUPS.items() if op in ops), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        splits = points.load_splits(sidebyside.europe_data(Path(scratch) / "europe"), torch.device("cpu"))
    seeds = replicates.seeds_of(0, args.seeds)
    sched = {"lr": LR, "epochs": args.epochs, "batch_size": BATCH}
    per_width, groups, ops = collections.Counter(), collections.Counter(), collections.Counter()
    for depth in DEPTHS:
        for width in WIDTHS:
            run = runs.Run({"depth": depth, "width": width, "features": "xy"}, sched)
            start = time.perf_counter()
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                runs.fit_stack(run, [LR] * len(seeds), seeds, splits, f"d{depth}-w{width}", points.NUM_CLASSES)
            per_width[width] += time.perf_counter() - start
            for event in prof.key_averages():
                groups[group_of(event.key)] += event.self_cpu_time_total / 1e6
                ops[event.key] += event.self_cpu_time_total / 1e6
    total = sum(groups.values())
    lines = ["# What bounds mlp_grid (bench/profile_grid.py)", "",
             f"{io.cpu_model()}, torch {torch.__version__}, one thread; 16 cells x {args.seeds} seeds stacked per "
             f"cell, {args.epochs} epoch(s), batch {BATCH}; profiled self CPU time {total:.1f} s "
             "(the profiler slows small ops, so read shares, not seconds).", "",
             "| group | seconds | share |", "|---|---|---|"]
    lines += [f"| {g} | {s:.2f} | {s / total:.0%} |" for g, s in groups.most_common()]
    lines += ["", "| op | seconds | share |", "|---|---|---|"]
    lines += [f"| `{op}` | {s:.2f} | {s / total:.0%} |" for op, s in ops.most_common(12)]
    wall = sum(per_width.values())
    lines += ["", "| width | wall seconds (4 depths) | share |", "|---|---|---|"]
    lines += [f"| {w} | {s:.2f} | {s / wall:.0%} |" for w, s in sorted(per_width.items())]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
