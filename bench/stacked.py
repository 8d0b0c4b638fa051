"""Stacked training against one run at a time: 8 runs of the 6x16 MLP (xy features, batch 256) for one epoch on
106,897 random points of 33 classes (plus 13,363-point validation and test splits, evaluated at the epoch's end),
lrs [1, 0.01, 0.001, 0.0001] x 2 with seeds 0..7, on one thread. Alternates loop.train one by one with
stacked.train_stacked, `--repeats` times, and prints each pair's ratio (one by one / stacked) and the median, for
plain and for BatchNorm nets. For plain nets it also times the runs one by one through autograd (the issue's
prototype measured against that; loop.train's hand-written step is about 2x faster), as `vs_autograd`.

Usage: python bench/stacked.py [--repeats 3] [--json PATH] [--skip-batchnorm]
"""

import argparse
import contextlib
import json
import statistics
import time
from unittest import mock

import torch

from nnrepro import io
from nnrepro.europe import fastmlp, loop, stacked
from nnrepro.europe.points import LAT_RANGE, LON_RANGE, NUM_CLASSES
from nnrepro.europe.mlp import MLP

SIZES = {"train": 106897, "validation": 13363, "test": 13363}
LRS, SEEDS = [1.0, 0.01, 0.001, 0.0001] * 2, list(range(8))
ARCH = {"depth": 6, "width": 16, "features": "xy"}


def random_splits(seed: int = 0) -> dict:
    """Uniform points over the study's box (longitude -11..41, latitude 34..72), uniformly random labels."""
    generator = torch.Generator().manual_seed(seed)
    splits = {}
    for split, n in SIZES.items():
        unit = torch.rand(n, 2, generator=generator)
        low = torch.tensor([LON_RANGE[0], LAT_RANGE[0]])
        span = torch.tensor([LON_RANGE[1] - LON_RANGE[0], LAT_RANGE[1] - LAT_RANGE[0]])
        splits[split] = (low + unit * span, torch.randint(0, NUM_CLASSES, (n,), generator=generator))
    return splits


def models(batchnorm: bool) -> list[MLP]:
    built = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        built.append(MLP(num_classes=NUM_CLASSES, batchnorm=batchnorm, **ARCH))
    return built


def one_by_one(splits: dict, batchnorm: bool, autograd: bool = False) -> list[list[dict]]:
    with mock.patch.object(fastmlp, "supports", lambda model: False) if autograd else contextlib.nullcontext():
        return [loop.train(model, splits, lr=lr, epochs=1, batch_size=256, seed=seed)
                for model, lr, seed in zip(models(batchnorm), LRS, SEEDS)]


def all_stacked(splits: dict, batchnorm: bool) -> list[list[dict]]:
    return stacked.train_stacked(models(batchnorm), splits, lrs=LRS, seeds=SEEDS, epochs=1, batch_size=256)


def seconds(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def compare(splits: dict, batchnorm: bool, repeats: int, autograd: bool = False) -> dict:
    """Alternate the two, `repeats` times; check they agree; return the medians and pair ratios."""
    label = ("BatchNorm" if batchnorm else "plain") + (" (one by one through autograd)" if autograd else "")
    singles, stacks, ratios = [], [], []
    for repeat in range(repeats):
        single, expected = seconds(lambda: one_by_one(splits, batchnorm, autograd))
        both, got = seconds(lambda: all_stacked(splits, batchnorm))
        strip = [[{k: v for k, v in row.items() if k not in ("seconds", "train_loss")} for row in h]
                 for h in (*expected, *got)]
        if strip[:len(expected)] != strip[len(expected):]:
            raise SystemExit(f"{label}: stacked histories differ from one-by-one ones")
        singles.append(single)
        stacks.append(both)
        ratios.append(single / both)
        print(f"{label} pair {repeat + 1}: one by one {single:.2f} s, stacked {both:.2f} s, "
              f"ratio {single / both:.2f}", flush=True)
    result = {"stacked_ratio": statistics.median(ratios), "one_by_one_s": statistics.median(singles),
              "stacked_s": statistics.median(stacks), "ratios": ratios}
    print(f"{label}: median ratio {result['stacked_ratio']:.2f} (one by one {result['one_by_one_s']:.2f} s, "
          f"stacked {result['stacked_s']:.2f} s)", flush=True)
    return result


def measure(repeats: int, batchnorm: bool = True) -> dict:
    """The plain nets' figures (stacked_ratio: one by one / stacked, median of the pairs) and the BatchNorm nets'
    beside them, on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        splits = random_splits()
        plain = compare(splits, False, repeats)
        report = {"stacked_ratio": plain["stacked_ratio"], "cpu": io.cpu_model(), "one_by_one_s": plain["one_by_one_s"],
                  "stacked_s": plain["stacked_s"], "ratios": plain["ratios"]}
        report["vs_autograd"] = compare(splits, False, repeats, autograd=True)
        if batchnorm:
            report["batchnorm"] = compare(splits, True, repeats)
        return report
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--skip-batchnorm", action="store_true")
    args = parser.parse_args()
    print(f"CPU: {io.cpu_model()}; torch {torch.__version__}, 1 thread", flush=True)
    report = measure(args.repeats, not args.skip_batchnorm)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


if __name__ == "__main__":
    main()
