"""The pipeline's own figures, in a fresh clone of the committed repository: the whole default `dvc repro` (per
stage), the XGBoost stage beside the library alone, `dvc exp run -S lr=0.01` after it, and a no-op `dvc repro`
beside DVC's floor (bench/floor.py). Used by bench/run.py."""

import json
import resource
import shutil
import statistics
import time
from pathlib import Path

import floor
import yaml

from nnrepro import imagecache, params
from nnrepro.faces import xgb
from nnrepro.runtime.device import thread_count

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
NOOP_RUNS = 5  # no-op `dvc repro`s per median
# params.yaml with every size shrunk to seconds per stage and every list kept: the same stages and matrix cells,
# so the no-op `dvc repro` has as many stages, locks and outputs to check as after the default run.
SHRUNK = {"europe": {"n_train": 330, "n_validation": 66, "n_test": 66}, "mlp": {"epochs": 2},
          "mlp_long": {"epochs": 2}, "evaluate": {"mesh": 20}, "grad_probe": {"epochs": 1},
          "faces": {"n_train": 16, "n_validation": 8, "n_test": 8, "image_size": 32},
          "cnn": {"batch_size": 8, "image_size": 32}, "xgboost": {"crop": 16}}


def clone_repo(clone: Path) -> Path:
    """A fresh clone of the committed repository, plus the ignored page that `dvc plots show` needs."""
    floor.run(clone.parent, "git", "clone", "-q", str(ROOT), str(clone))
    for extra in (".dvc/offline_plots.html",):
        if (ROOT / extra).exists():
            shutil.copy(ROOT / extra, clone / extra)
    return clone


def stage_seconds(timings: Path) -> dict:
    """Timings file (relative, no suffix) -> the stage's wall seconds (its other keys are parts of that)."""
    return {str(path.relative_to(timings).with_suffix("")): json.loads(path.read_text())["wall_seconds"]
            for path in sorted(timings.rglob("*.json"))}


def repro_case(clone: Path) -> dict:
    """The whole default pipeline from scratch in `clone`, committed as a user would; its per-stage seconds."""
    total = floor.dvc(clone, "repro", quiet=False)
    floor.commit(clone, "default pipeline, run once")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest stage process
    return {"repro_s": total, "peak_mb": peak_mb, "stages": stage_seconds(clone / "timings")}


def shrunk_run(clone: Path) -> Path:
    """A fresh clone whose pipeline ran once on SHRUNK params and is committed: a project with nothing to do."""
    clone_repo(clone)
    values = yaml.safe_load((clone / "params.yaml").read_text())
    for section, sizes in SHRUNK.items():
        values[section].update(sizes)
    (clone / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    floor.dvc(clone, "repro")
    floor.commit(clone, "shrunk pipeline, run once")
    return clone


def noop_case(project: Path, floor_dir: Path | None) -> dict:
    """No-op `dvc repro` in `project` (median of NOOP_RUNS) beside DVC's floor for as many stages, alternating."""
    count = floor.stage_count(project)
    trivial = floor.trivial_run(floor_dir, count) if floor_dir else None
    times = {"noop_s": [], "dvc_floor_s": []}
    for folder in filter(None, (project, trivial)):
        floor.dvc(folder, "repro")  # warm-up: the first no-op after a run also refreshes DVC's state database
    for _ in range(NOOP_RUNS):
        times["noop_s"].append(floor.dvc(project, "repro"))
        if trivial:
            times["dvc_floor_s"].append(floor.dvc(trivial, "repro"))
    return {"stage_count": count, **{key: statistics.median(v) if v else None for key, v in times.items()}}


def xgboost_library_seconds(cache: Path, crop: int) -> float:
    """XGBoost alone as the stage calls it, pixels ready: DMatrix, 100 default rounds, predict validation and test."""
    import xgboost

    data = imagecache.load(cache)
    pixels = {split: xgb.pixels(d["images"], crop) for split, d in data.items()}
    threads = thread_count()  # the stage's: os.cpu_count() unless NNREPRO_THREADS is set
    start = time.perf_counter()
    matrix = xgboost.DMatrix(pixels["train"], label=data["train"]["labels"], nthread=threads)
    booster = xgboost.train({"objective": "binary:logistic", "seed": SEED, "nthread": threads}, matrix,
                            num_boost_round=xgb.ROUNDS)
    for split in ("validation", "test"):
        booster.predict(xgboost.DMatrix(pixels[split], nthread=threads))
    return time.perf_counter() - start


def xgboost_case(project: Path) -> dict:
    """The xgboost stage's wall seconds in `project` (after a repro) beside the library alone on its cache."""
    stage = json.loads((project / "timings" / "xgboost.json").read_text())["wall_seconds"]
    crop = params.load(project / "params.yaml").integer("xgboost.crop")
    return {"xgboost_s": stage, "xgboost_library_s": xgboost_library_seconds(project / "data/faces/cache", crop)}


def measure(workdir: Path, skip: set, noop_project: Path | None = None) -> dict:
    """The parts not skipped: whole `dvc repro` in a fresh clone, there the XGBoost figures and the no-op beside
    DVC's floor (in `noop_project` if given, else in a shrunk clone when repro is skipped), then `dvc exp run`."""
    results = {}
    clone = workdir / "clone"
    if "repro" not in skip:
        results.update(repro_case(clone_repo(clone)))
        if "xgboost" not in skip:
            results.update(xgboost_case(clone))
    elif {"exp", "xgboost"} - skip:
        print("exp and xgboost run in repro's clone: not measured with --skip repro", flush=True)
    if "noop" not in skip:
        project = noop_project or (clone if "repro" not in skip else shrunk_run(workdir / "shrunk"))
        results.update(noop_case(project, None if "floor" in skip else workdir / "floor"))
        results["noop_in"] = (str(noop_project) if noop_project else "the repro's clone" if "repro" not in skip
                              else "a fresh clone run once on shrunk sizes")
    if "repro" not in skip and "exp" not in skip:
        results["exp_lr_s"] = floor.dvc(clone, "exp", "run", "-S", "lr=0.01", quiet=False)
    return results
