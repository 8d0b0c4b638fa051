"""DVC commands timed for the benchmarks, and DVC's own floor: a throwaway project with as many trivial stages as
the pipeline, run once and committed, so that the pipeline's no-op `dvc repro` can be read against its no-op."""

import os
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
    one, no analytics, and a git identity for the commits the benchmarks and `dvc exp run` make."""
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


def commit(folder: Path, message: str) -> None:
    """Everything in `folder` committed, dvc.lock included, as a user does after a run."""
    run(folder, "git", "add", "-A")
    run(folder, "git", "commit", "-q", "-m", message)


def stage_count(project: Path) -> int:
    """Stages of the project's dvc.yaml, each matrix cell counted (as `dvc stage list` expands them)."""
    listed = subprocess.run([str(BIN / "dvc"), "stage", "list", "--name-only"], cwd=project, env=env(),
                            capture_output=True, text=True, check=True)
    return len(listed.stdout.split())


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


def trivial_run(folder: Path, stages: int) -> Path:
    """A new trivial project of `stages` stages in `folder`, run once and committed (nothing left to do)."""
    project = trivial_project(folder, stages)
    dvc(project, "repro")
    commit(project, "trivial stages, run once")
    return project
