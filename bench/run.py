"""Benchmarks: nnrepro's hot paths against the naive references of bench/naive.py, side by side
(bench/sidebyside.py), and the pipeline's own figures (bench/pipeline.py: whole `dvc repro`, `dvc exp run`, no-op
`dvc repro` beside DVC's floor, XGBoost stage) against their goals. Writes bench/results.json and nothing else;
`python bench/render.py` makes RESULTS.md from it.
Usage: python bench/run.py [--repeats 3] [--skip PART ...] [--keep DIR] [--noop-project DIR]
         parts: mlp, batch1, probe, cnn, stacked, repro, exp, xgboost, noop, floor (exp and xgboost run in repro's clone;
         noop runs there too, or in a clone run once on shrunk params when repro is skipped)
"""

import argparse
import datetime
import json
import operator
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import machine  # noqa: E402
import pipeline  # noqa: E402
import sidebyside  # noqa: E402
import stacked  # noqa: E402

RESULTS_JSON = Path(__file__).resolve().parent / "results.json"
PARTS = ("mlp", "batch1", "probe", "cnn", "stacked", "repro", "exp", "xgboost", "noop", "floor")
# Every figure, null until measured (a skipped part leaves its figures null).
FIGURES = ("naive_epoch_s", "repro_s", "repro_naive_epochs", "noop_s", "dvc_floor_s", "noop_over_floor",
           "stage_count", "exp_lr_s", "exp_lr_fraction", "batch1_ratio", "xgboost_s", "xgboost_library_s",
           "xgboost_ratio", "peak_mb", "stages", "noop_in", "stacked_ratio", "stacked")
GOALS = {  # figure: (goal row, direction, goal, goal as shown)
    "repro_naive_epochs": ("whole default `dvc repro` from scratch, in naive epochs", "<=", 270,
                           "<= 270 naive epochs"),
    "exp_lr_fraction": ("`dvc exp run -S lr=0.01` after it, as % of that repro", "<=", 0.5, "<= 50%"),
    "batch1_ratio": ("batch size 1: naive / ours, 10,000 steps", ">=", 5, ">= 5x"),
    "xgboost_ratio": ("XGBoost stage / XGBoost alone on the same pixels", "<=", 1.1, "<= 1.1x"),
    "noop_over_floor": ("no-op `dvc repro` / DVC's floor (a trivial project, as many stages)", "<=", 1.5,
                        "<= 1.5x"),
    "stacked_ratio": ("8 runs of the 6x16 MLP, one epoch: one by one / stacked (bench/stacked.py)", ">=", 4,
                      ">= 4x"),
}
COMPARE = {"<=": operator.le, ">=": operator.ge}


def ratio(numerator, denominator):
    return None if numerator is None or denominator is None else numerator / denominator


def goals(results: dict) -> dict:
    """Figure -> its goal row, value, goal and whether met (None: not measured)."""
    judged = {}
    for key, (row, direction, goal, shown) in GOALS.items():
        value = results[key]
        judged[key] = {"figure": row, "value": value, "goal": shown,
                       "met": None if value is None else COMPARE[direction](value, goal)}
    return judged


def measure(workdir: Path, repeats: int, skip: set, noop_project: Path | None = None) -> dict:
    """Every part not skipped, in one process on one machine; the results.json content."""
    results = {"date": datetime.date.today().isoformat(), **machine.describe("torch", "numpy", "xgboost", "dvc",
                                                                            "ruamel.yaml", "ruamel.yaml.clib"),
               "repeats": repeats, "skipped": sorted(skip), **dict.fromkeys(FIGURES)}
    data = sidebyside.europe_data(workdir / "europe")
    cases = sidebyside.mlp_cases(data, repeats, skip)
    results["naive_epoch_s"] = (cases["mlp"]["naive"] if "mlp" in cases
                                else sidebyside.naive_epoch_seconds(data, repeats))
    if "cnn" not in skip:
        cases["cnn"] = sidebyside.cnn_case(workdir / "faces", 1)  # one alternation: each side is minutes on 2 cores
    results["cases"] = cases
    if "stacked" not in skip:
        results["stacked"] = stacked.measure(repeats)
        results["stacked_ratio"] = results["stacked"]["stacked_ratio"]
    results["batch1_ratio"] = cases["batch1"]["ratio"] if "batch1" in cases else None
    results.update(pipeline.measure(workdir, skip, noop_project))
    results["repro_naive_epochs"] = ratio(results["repro_s"], results["naive_epoch_s"])
    results["exp_lr_fraction"] = ratio(results["exp_lr_s"], results["repro_s"])
    results["xgboost_ratio"] = ratio(results["xgboost_s"], results["xgboost_library_s"])
    results["noop_over_floor"] = ratio(results["noop_s"], results["dvc_floor_s"])
    results["goals"] = goals(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS)
    parser.add_argument("--keep", type=Path, help="run in this new folder and keep it (the pipeline's clone)")
    parser.add_argument("--noop-project", type=Path,
                        help="time the no-op `dvc repro` in this project (run and committed: nothing to do)")
    parser.add_argument("--out", type=Path, default=RESULTS_JSON)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        if args.keep:
            args.keep.mkdir(parents=True)
            workdir = args.keep.resolve()
        results = measure(workdir, args.repeats, set(args.skip), args.noop_project and args.noop_project.resolve())
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}; `python bench/render.py` makes RESULTS.md from it")


if __name__ == "__main__":
    main()
