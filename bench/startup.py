"""Worker start-up of a stage's side-by-side runs (nnrepro.runtime.parallel): forked workers (what a stage, which
pins torch to one thread before its first op, gets) against spawned ones (each imports torch again), alternating.
Each of the 2 workers trains one stack of 3 seeds of the 6x16 MLP for one epoch on bench/stacked.py's random
points, as mlp_sine's two stacks do. Overhead = run_all's wall time minus its longest job. Prints a table and writes
bench/STARTUP.md.

    python bench/startup.py [--repeats 3]
"""

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import torch

torch.set_num_threads(1)  # before any op, as stage.start(threads=1) does: otherwise start_method() says spawn
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))
import machine  # noqa: E402
import stacked  # noqa: E402

from nnrepro.europe import runs  # noqa: E402
from nnrepro.runtime import parallel  # noqa: E402

RUN = runs.Run({"depth": 6, "width": 16, "features": "xy", "batchnorm": False},
               {"lr": 0.001, "epochs": 1, "batch_size": 256})


def jobs(splits: dict) -> list[tuple]:
    return [(RUN, [0.001] * 3, [0, 1, 2], splits, f"stack {k}", 33) for k in range(2)]


def timed(method: str, splits: dict) -> tuple[float, float, list]:
    """(run_all's wall seconds, its longest job's, the histories) with workers started by `method`."""
    with mock.patch.object(parallel, "start_method", lambda: method):
        start = time.perf_counter()
        results, seconds = parallel.run_all(runs.fit_stack, jobs(splits), torch.device("cpu"), workers=2)
        wall = time.perf_counter() - start
    return wall, max(seconds), [[h for _, h in stack] for stack in results]


def strip(histories: list) -> list:
    return [[[{k: v for k, v in row.items() if k != "seconds"} for row in h] for h in stack] for stack in histories]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    library = parallel.start_method()
    if library != "fork":
        raise SystemExit(f"this process would start its workers by {library}, not fork: nothing to compare")
    splits = stacked.random_splits()
    rows = {"fork": [], "spawn": []}
    for repeat in range(args.repeats):
        for method in ("spawn", "fork"):
            wall, longest, histories = timed(method, splits)
            rows[method].append((wall, longest, strip(histories)))
            print(f"pair {repeat + 1} {method}: run_all {wall:.2f} s, longest job {longest:.2f} s, "
                  f"overhead {wall - longest:.2f} s", flush=True)
    if any(r[2] != rows["spawn"][0][2] for method in rows for r in rows[method]):
        raise SystemExit("forked and spawned workers trained different histories")
    saved = [s[0] - f[0] for s, f in zip(rows["spawn"], rows["fork"])]
    m = machine.describe("torch")
    lines = [f"# Worker start-up, fork against spawn ({datetime.date.today()}, {m['cpu']}, {m['cores']} cores, "
             f"torch {m['versions']['torch']})", "",
             f"`python bench/startup.py`: `parallel.run_all` of 2 workers, each one stack of 3 seeds of the 6x16 MLP "
             f"for one epoch; spawn then fork, {args.repeats} pairs; medians. Histories equal in every run.", "",
             "| start | run_all s | longest job s | overhead s |", "|---|---|---|---|"]
    for method in ("spawn", "fork"):
        walls, longest = [r[0] for r in rows[method]], [r[1] for r in rows[method]]
        overhead = [w - j for w, j in zip(walls, longest)]
        lines.append(f"| {method} | {statistics.median(walls):.2f} | {statistics.median(longest):.2f} | "
                     f"{statistics.median(overhead):.2f} |")
    lines += ["", f"Saved per stage that trains side by side, pair by pair: "
              f"{', '.join(f'{s:.2f}' for s in saved)} s (median {statistics.median(saved):.2f} s)."]
    text = "\n".join(lines) + "\n"
    (BENCH / "STARTUP.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
