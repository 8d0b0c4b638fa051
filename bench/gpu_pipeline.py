"""The CNN half of the pipeline through `dvc repro` itself on a GPU, beside bench/gpu.py (the library's sweep alone).
Writes bench/gpu_pipeline.json; bench/render.py puts it in RESULTS.md.

On a GPU machine, from the repository root, with dvc and dvclive importable (a bare GPU image lacks them: README,
"Benchmarks", says how to carry their wheels), offline:
    python bench/gpu_pipeline.py
On a CPU, to check the script (tiny params, writes nothing):  python bench/gpu_pipeline.py --smoke
It works in a scratch copy of the tracked files (git-initialised, as DVC wants a repository); the checkout is left
as it was. Every step is timed wall-clock around its command:
  1. `dvc repro cnn_scratch cnn_probe cnn_finetune` at params.yaml's values (prepare_faces, probe_features first),
     then `dvc repro -s cnn_evaluate` (it also reads the committed metrics/xgboost.json: XGBoost is not rerun);
  2. the same `dvc repro` again, which must run nothing;
  3. the course's scale: cnn.arch resnet18 at cnn.image_size 224 (bench/gpu.py's; random weights, as no ImageNet
     ResNet18 file is offline), by `dvc repro` again: its sweep seconds sit beside bench/gpu.py's;
  4. side by side: the three CNN stages' commands started at once on the one GPU, against one after another.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "src"))  # machine names the CPU through nnrepro.io
import machine  # noqa: E402
STAGES = ("cnn_scratch", "cnn_probe", "cnn_finetune")
COURSE = {"cnn.arch": "resnet18", "cnn.image_size": 224}  # bench/gpu.py's ARCH and image_px
PARTS = ("default", "course", "side_by_side")
SMOKE = {"faces.n_train": 64, "faces.n_validation": 32, "faces.n_test": 32, "faces.image_size": 32,
         "cnn.image_size": 32, "cnn.lrs": [0.001], "cnn.probe_seeds": 1}


def sh(cmd: list[str], cwd: Path, env: dict, log: Path) -> float:
    """Run cmd, its output appended to log (and echoed); seconds; a failure stops the check with the log's tail."""
    start = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    print(f"{seconds:7.1f} s  {' '.join(cmd)}", flush=True)
    if done.returncode:
        sys.exit(f"error: {' '.join(cmd)} exited {done.returncode}:\n" + "".join(log.read_text().splitlines(True)[-30:]))
    return seconds


def not_project(folder: str, names: list[str]) -> set[str]:
    """copytree's ignore: carried wheels, environments, bytecode, DVC's cache and temporary files."""
    dvc_own = {"cache", "tmp"} if Path(folder).name == ".dvc" else set()
    return {n for n in names if n in {".whl", ".venv", "__pycache__"} | dvc_own}


def scratch_repo(repo: Path, env: dict, log: Path) -> str:
    """The project's files in a fresh repository, DVC's outputs absent, so every stage runs; how DVC sees it.

    A checkout gives its tracked files; a copy without .git (as a lent GPU machine gets) all of its files, which
    are the tracked and untracked-not-ignored ones. Without git installed, DVC runs with core.no_scm."""
    if (ROOT / ".git").exists():
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        for name in filter(None, files.decode().split("\0")):
            if (ROOT / name).is_file():
                (repo / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, repo / name)
    else:
        shutil.copytree(ROOT, repo, ignore=not_project)
    if shutil.which("git") is None:
        sh([sys.executable, "-m", "dvc", "config", "core.no_scm", "true"], repo, env, log)
        return "no git: DVC with core.no_scm"
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "scratch"]):
        sh(cmd, repo, env, log)
    return "git repository"


def set_params(repo: Path, values: dict) -> None:
    """Dotted keys set in the scratch params.yaml (its comments dropped: only DVC and the stages read it)."""
    path = repo / "params.yaml"
    tree = yaml.safe_load(path.read_text())
    for key, value in values.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node[part]
        node[leaf] = value
    path.write_text(yaml.safe_dump(tree, sort_keys=False))


def random_resnet18(path: Path) -> Path:
    """A ResNet18 state dict of seeded random weights: the timing is the same as ImageNet's, the accuracy is not."""
    import torch
    from torchvision import models

    torch.manual_seed(0)
    torch.save(models.resnet18(weights=None).state_dict(), path)
    return path


def stage_times(repo: Path, names) -> dict:
    """Each stage's own timings file: wall seconds inside the process, and the sum of its cells' seconds."""
    out = {}
    for name in names:
        path = repo / "timings" / f"{name}.json"
        if not path.exists():  # prepare_faces keeps no timings file
            continue
        timings = json.loads(path.read_text())
        cells = {k.removesuffix("_seconds"): v for k, v in timings.items() if k.endswith("_seconds")
                 and k != "wall_seconds"}
        out[name] = {"wall_s": timings["wall_seconds"],
                     **({"cells_s": round(sum(cells.values()), 3), "cells": cells} if cells else {})}
    return out


def ran_stages(log: Path, since: int) -> list[str]:
    """Stages DVC says it ran in the log's lines after `since`."""
    lines = log.read_text().splitlines()[since:]
    return [m.group(1) for line in lines if (m := re.match(r"Running stage '([^']+)'", line))]


def repro(repo: Path, env: dict, log: Path) -> dict:
    """One `dvc repro` of the CNN stages: its seconds, the stages it ran, and theirs."""
    since = len(log.read_text().splitlines())
    seconds = sh([sys.executable, "-m", "dvc", "repro", *STAGES], repo, env, log)
    ran = ran_stages(log, since)
    return {"repro_s": round(seconds, 2), "ran": ran, "stages": stage_times(repo, ran)}


def stage_commands(repo: Path) -> dict:
    """The CNN stages' commands as dvc.yaml has them."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return {name: " ".join(stages[name]["cmd"].split()) for name in STAGES}


def side_by_side(repo: Path, env: dict, log: Path) -> dict:
    """The three CNN stages' commands one after another, then all at once (outside DVC, same params and data)."""
    commands = stage_commands(repo)
    one_by_one = {name: round(sh(["sh", "-c", cmd], repo, env, log), 2) for name, cmd in commands.items()}
    start = time.perf_counter()
    with open(log, "a") as out:
        procs = [subprocess.Popen(["sh", "-c", cmd], cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
                 for cmd in commands.values()]
        try:
            codes = [p.wait() for p in procs]
        finally:  # interrupted: no stage keeps running on the GPU
            for p in procs:
                if p.poll() is None:
                    p.kill()
    together = time.perf_counter() - start
    if any(codes):
        sys.exit(f"error: side-by-side stages exited {codes}; see {log}")
    print(f"{together:7.1f} s  the three at once", flush=True)
    return {"one_by_one_s": one_by_one, "one_by_one_total_s": round(sum(one_by_one.values()), 2),
            "together_s": round(together, 2), "ratio": round(sum(one_by_one.values()) / together, 2)}


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (no CUDA)"


def versions(env: dict) -> dict:
    """The versions the stages' interpreter imports (the carried wheels' on a GPU image)."""
    names = ("dvc", "dvclive", "torch", "torchvision")
    code = f"from importlib.metadata import version; print(*(version(n) for n in {names!r}))"
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    return dict(zip(names, found))


def run(folder: Path, smoke: bool, parts: list[str]) -> dict:
    log = folder / "log.txt"
    log.touch()
    shim = folder / "bin"  # dvc.yaml's commands call `python`; a GPU image may have python3 alone
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # a venv's python, not its base
    (shim / "python").chmod(0o755)
    repo = folder / "repo"
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(repo / "src"), os.environ.get("PYTHONPATH", "")]))}
    scm = scratch_repo(repo, env, log)
    if smoke:
        set_params(repo, SMOKE)
    found = {"date": datetime.date.today().isoformat(), "device": device_name(), "smoke": smoke,
             "cpu_count": os.cpu_count(), "scm": scm, "versions": versions(env), "stages": list(STAGES)}
    if "default" in parts:
        found["default"] = repro(repo, env, log)
        found["default"]["cnn_evaluate_s"] = round(
            sh([sys.executable, "-m", "dvc", "repro", "-s", "cnn_evaluate"], repo, env, log), 2)
        noop = repro(repo, env, log)
        found["noop"] = {"repro_s": noop["repro_s"], "ran": noop["ran"]}
    if "course" in parts:
        course = {"cnn.arch": "resnet18"} if smoke else COURSE
        set_params(repo, {**course, "cnn.weights_path": str(random_resnet18(folder / "resnet18-random.pth"))})
        found["course"] = {"params": course, "weights": "random (seed 0): no ImageNet ResNet18 file offline",
                           **repro(repo, env, log)}
        found["course"]["sweep_s"] = round(sum(s.get("cells_s", 0) for s in found["course"]["stages"].values()), 2)
    if "side_by_side" in parts:
        found["side_by_side"] = {"params": "course" if "course" in parts else "default",
                                 **side_by_side(repo, env, log)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny params, to check the script on a CPU; writes nothing")
    parser.add_argument("--out", type=Path, default=BENCH / "gpu_pipeline.json",
                        help="the figures' file (its hand-made 'findings' are carried over)")
    parser.add_argument("--log", type=Path, help="copy the commands' whole output here")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated, in this order: {', '.join(PARTS)} (side_by_side runs at the params "
                             "the parts before it left: the course's after course)")
    args = parser.parse_args()
    unknown = set(args.parts.split(",")) - set(PARTS)
    if unknown:
        parser.error(f"--parts: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    with tempfile.TemporaryDirectory(prefix="nnrepro-gpu-pipeline-") as scratch:
        try:
            found = run(Path(scratch), args.smoke, args.parts.split(","))
        finally:
            if args.log:
                shutil.copy(Path(scratch) / "log.txt", args.log)
    machine.write_with_findings(found, args.out, write=not args.smoke)


if __name__ == "__main__":
    main()
