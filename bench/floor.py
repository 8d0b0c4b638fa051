"""DVC commands timed for bench/run.py, and DVC's own floor: a no-op `dvc repro` of a throwaway project with as
many trivial stages as the pipeline, so that the pipeline's no-op time can be read against it."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent  # the venv's python and dvc, first on the stages' PATH
IDENTITY = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "nnrepro bench"), ("EMAIL", "bench@nnrepro.invalid"))}


def env() -> dict:
    """The venv first on PATH, the project's own library (src, relative to the stage's cwd) before the installed
    one, no analytics, and a git identity for the commits `dvc exp run` makes."""
    return {**os.environ, **IDENTITY, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": "src",
            "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}


def run(folder: Path, *command: str, quiet: bool = True) -> float:
    """Seconds `command` took in `folder`; quiet captures its output and shows it only when it fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, env=env(), capture_output=quiet, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = f"\n{result.stdout[-3000:]}{result.stderr[-3000:]}" if quiet else ""
        raise RuntimeError(f"`{' '.join(command)}` failed in {folder} (exit {result.returncode}){tail}")
    return seconds


def dvc(folder: Path, *args: str, quiet: bool = True) -> float:
    return run(folder, str(BIN / "dvc"), *args, quiet=quiet)


def noop_seconds(folder: Path, runs: int = 3) -> float:
    """Median seconds of a `dvc repro` that has nothing to do."""
    return statistics.median(dvc(folder, "repro") for _ in range(runs))


def stage_count(lock: Path) -> int:
    """Stages in a dvc.lock, each matrix cell counted."""
    return len(yaml.safe_load(lock.read_text())["stages"])


def trivial_project(folder: Path, stages: int) -> Path:
    """git + DVC project configured like the pipeline's, with `stages` stages `echo k > out/k.txt`, dep in/k.txt."""
    folder.mkdir(parents=True)
    run(folder, "git", "init", "-q")
    dvc(folder, "init", "-q")
    for key in ("core.check_update", "core.analytics"):
        dvc(folder, "config", key, "false")
    (folder / "in").mkdir()
    (folder / "out").mkdir()
    for k in range(stages):
        (folder / "in" / f"{k}.txt").write_text(f"{k}\n")
    pipeline = {f"s{k}": {"cmd": f"echo {k} > out/{k}.txt", "deps": [f"in/{k}.txt"], "outs": [f"out/{k}.txt"]}
                for k in range(stages)}
    (folder / "dvc.yaml").write_text(yaml.safe_dump({"stages": pipeline}, sort_keys=False))
    return folder


def floor_seconds(folder: Path, stages: int, runs: int = 3) -> float:
    """Median no-op `dvc repro` of a new trivial project of `stages` stages in `folder`, after one full run that is
    committed, as the pipeline's clone has its dvc.lock committed."""
    project = trivial_project(folder, stages)
    dvc(project, "repro")
    run(project, "git", "add", "-A")
    run(project, "git", "commit", "-q", "-m", "trivial stages, run once")
    return noop_seconds(project, runs)
