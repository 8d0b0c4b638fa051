"""A throw-away copy of the repository with tiny params, and the DVC/git commands the pipeline tests run in it."""

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import psutil
import yaml
from conftest import ROOT, kill_session, run_bounded, session_members

BIN = Path(sys.executable).parent  # the venv's python and dvc
RAN = re.compile(r"Running stage '([^']+)'")
# Seconds a command may run before it is killed and its test fails; a full tiny `dvc repro` takes 2-4 minutes
# on 2 cores, most commands a few seconds. Pass timeout= for a longer one.
TIMEOUT = 300
REPRO_TIMEOUT = 900


def tiny_params(base: dict) -> dict:
    """The repository's params.yaml shrunk to seconds per stage: tiny splits, 1-2 epochs, two grid cells."""
    p = yaml.safe_load(yaml.safe_dump(base))  # deep copy
    p.update(data_seed=0, device="cpu", lr=0.01)
    p["replicates"].update(first=0, mlp=2, grad_probe=2, probe=2, cnn=1)
    p["europe"].update(source="embedded", n_train=330, n_validation=66, n_test=66)
    p["mlp"].update(depth=2, width=8, features="xy", batch_size=64, epochs=2)
    p["mlp_lr"].update(lrs=[0.01], batchnorm=[False, True])  # figures draws both sweeps
    p["mlp_long"].update(epochs=2)
    # Batch size 1 against 128: per-epoch seconds 100x apart, so the wall-clock claim (larger_batches_faster) cannot
    # flip between two runs on a loaded machine and the from-scratch twin compares claims.json byte for byte.
    p["mlp_batch"].update(pairs=[[1, 1], [128, 2]], first_epoch_evals=2)
    p["mlp_grid"].update(depths=[1], widths=[4, 8])
    p["evaluate"].update(mesh=20)
    p["grad_probe"].update(depth=8, width=4, epochs=1, batch_size=64, layers=[0, 7])
    if "faces" in p:
        p["faces"].update(source="embedded", n_train=16, n_validation=8, n_test=8, image_size=32)
    if "cnn" in p:
        p["cnn"].update(lrs=[0.01, 0.001], epochs=1, batch_size=8, image_size=32)
    if "xgboost" in p:
        p["xgboost"].update(crop=16)
    return p


def env(threads: int = 1) -> dict:
    """The venv first on PATH, the copy's own library (src, relative to the stage's cwd) before the installed one."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": "src",
        "NNREPRO_THREADS": str(threads),
        "DVC_NO_ANALYTICS": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }


def sh(cwd: Path, *cmd: str, check: bool = True, timeout: float = TIMEOUT, **kwargs) -> subprocess.CompletedProcess:
    """Run a command in `cwd`, bounded by `timeout` (conftest.run_bounded); on failure, fail with its output."""
    result = run_bounded(list(cmd), timeout, cwd=cwd, env=kwargs.pop("env", env()), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def dvc(cwd: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return sh(cwd, str(BIN / "dvc"), *args, **kwargs)


def ran(result: subprocess.CompletedProcess) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` ran, from its "Running stage '...'" lines."""
    return set(RAN.findall(result.stdout + result.stderr))


def output_roots() -> set[str]:
    """Top-level folders that hold declared outputs (not copied: the copy starts with none)."""
    roots = set()
    for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values():
        for entry in stage.get("outs", []) + stage.get("metrics", []) + stage.get("plots", []):
            path = next(iter(entry)) if isinstance(entry, dict) else entry
            roots.add(Path(path).parts[0])
    return roots


def source_files() -> list[str]:
    """Tracked files plus untracked ones git does not ignore (so that it works before a commit), sources only."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split("\0")
    roots = output_roots()
    return sorted(f for f in listed if f and f != "dvc.lock" and Path(f).parts[0] not in roots and (ROOT / f).is_file())


def make_repo(dest: Path, params: dict) -> Path:
    """Copy the sources into `dest`, write `params`, git init and commit: a fresh clone of this repo."""
    for name in source_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    template = ROOT / ".dvc" / "offline_plots.html"  # ignored by git, built at set-up; `dvc plots` needs it
    if template.exists():
        shutil.copy2(template, dest / ".dvc" / template.name)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(dest, "git", "init", "-q", "-b", "main")
    sh(dest, "git", "config", "user.name", "nnrepro test")
    sh(dest, "git", "config", "user.email", "test@nnrepro.invalid")
    commit(dest, "sources with tiny params")
    return dest


def commit(repo: Path, message: str) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "--allow-empty", "-m", message)


def set_params(repo: Path, change) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    change(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def stages(repo: Path) -> dict:
    """name -> (params keys, deps paths, outs paths), resolved by DVC itself (matrix cells expanded)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        result = {}
        for stage in dvc_repo.index.stages:
            keys = {k for d in stage.deps if isinstance(d, ParamsDependency) for k in d.params}
            deps = {d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)}
            result[stage.name] = (keys, deps, {o.def_path for o in stage.outs})
        return result


def reads(keys: set[str], param: str) -> bool:
    """Whether a stage that declares `keys` depends on `param` (a key, a section above it, or a key inside it)."""
    return any(k == param or param.startswith(k + ".") or k.startswith(param + ".") for k in keys)


def downstream(graph: dict, names: set[str]) -> set[str]:
    """`names` plus every stage whose deps lie inside (or hold) an output of one of them, transitively."""
    found, todo = set(names), list(names)
    while todo:
        outs = graph[todo.pop()][2]
        for name, (_, deps, _) in graph.items():
            if name not in found and any(_overlap(d, o) for d in deps for o in outs):
                found.add(name)
                todo.append(name)
    return found


def _overlap(a: str, b: str) -> bool:
    a, b = Path(a), Path(b)
    return a == b or b in a.parents or a in b.parents


def digests(repo: Path, folder: str) -> dict[str, str]:
    """sha256 of every file under repo/folder, by relative path."""
    root = repo / folder
    return {
        p.relative_to(repo).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def kill_stage_midway(
    repo: Path, script: str, ready: Callable[[str], object], timeout: float = TIMEOUT
) -> subprocess.CompletedProcess:
    """`dvc repro`; SIGTERM the python processes running stages/<script> once `ready(output so far)` is true;
    return dvc's result. dvc writes to a file and runs in its own session: nothing it started outlives this call."""
    log = repo.parent / f"{repo.name}-kill-midway.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "dvc"), "repro"],
            cwd=repo,
            env=env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline, killed = time.monotonic() + timeout, False
        while not killed and proc.poll() is None and time.monotonic() < deadline:
            if ready(log.read_text(errors="replace")):
                for pid in _pids_running(f"stages/{script}", repo):
                    os.kill(pid, signal.SIGTERM)
                    killed = True
            time.sleep(0.05)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"dvc repro still ran after {timeout:g} s\n{log.read_text()[-4000:]}") from None
    finally:
        kill_session(proc.pid)
        proc.wait()
    out = log.read_text(errors="replace")
    assert killed, f"stages/{script} was never seen running once ready\n{out[-4000:]}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def _pids_running(needle: str, cwd: Path) -> list[int]:
    """Processes whose command line contains `needle` and whose cwd is `cwd` (only ones this test started)."""
    pids = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):  # a process gone or not ours to read: None
        line, here = " ".join(proc.info["cmdline"] or []), proc.info["cwd"]
        if needle in line and "python" in line and here and Path(here) == cwd.resolve():
            pids.append(proc.pid)
    return pids


# DVC's experiment queue. `dvc queue start` forks its workers (`dvc exp queue-worker`, which run each experiment
# as `dvc exp exec-run`) and returns; the forks keep the stdout/stderr it was given. Seen in CI: of two workers,
# one logged "shutting down due to empty queue" while its task still ran, and never exited (a race in DVC's
# celery queue). Hence: output to a file, never a captured pipe; every wait bounded; stopped and killed after.
QUEUE_TIMEOUT = 240  # two queued one-stage experiments take under a minute on 2 cores
QUEUE_COMMANDS = ("exp queue-worker", "exp exec-run")


def cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def queue_processes(repo: Path, sid: int) -> list[int]:
    """What `dvc queue start` (session `sid`) left running: its session, plus any queue worker or experiment
    process that runs in `repo` (like `pgrep -f "exp queue-worker"`, but only this repository's)."""
    found, exps = set(session_members(sid)), (repo / ".dvc" / "tmp" / "exps").resolve()
    for proc in psutil.process_iter(["cmdline", "cwd"]):  # a process gone or not ours to read: None
        if proc.pid == os.getpid() or not proc.info["cwd"]:
            continue
        cwd, line = Path(proc.info["cwd"]), " ".join(proc.info["cmdline"] or [])
        if (cwd == repo.resolve() or repo.resolve() in cwd.parents) and (
            exps == cwd or exps in cwd.parents or any(c in line for c in QUEUE_COMMANDS)
        ):
            found.add(proc.pid)
    return sorted(found)


def queue_logs(repo: Path, log: Path) -> str:
    """The tail of `dvc queue start`'s log and of each worker's and experiment's own log, for a failure."""
    parts = [f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" if log.exists() else ""]
    for out in sorted((repo / ".dvc" / "tmp" / "exps").rglob("*.out")):
        parts.append(f"--- {out.relative_to(repo)}\n{out.read_text(errors='replace')[-2000:]}")
    return "\n".join(parts)


def stop_queue(repo: Path, sid: int, grace: float = 5) -> list[str]:
    """`dvc queue stop --kill`, then SIGKILL to whatever of the queue still runs after `grace` seconds.

    Returns "pid: command line" of each process that had to be killed that way (the stuck worker of the race)."""
    with contextlib.suppress(TimeoutError):  # the kill below does what it did not
        dvc(repo, "queue", "stop", "--kill", check=False, timeout=60)
    deadline = time.monotonic() + grace
    while (left := queue_processes(repo, sid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    described = [f"{pid}: {cmdline(pid)}" for pid in left]
    kill_session(sid, also=tuple(left))
    assert not queue_processes(repo, sid), "queue processes survived SIGKILL"
    return described


@contextmanager
def queue_started(repo: Path, jobs: int, log: Path, run_env: dict | None = None):
    """`dvc queue start -j jobs` in a session of its own, its output and its workers' in `log`, stdin /dev/null.

    Yields the session id. On exit, whether the test passed or failed, the queue is stopped and every process it
    left is killed (with a warning naming any that did not stop by themselves)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(BIN / "dvc"), "queue", "start", "-j", str(jobs)],
            cwd=repo,
            env=run_env or env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            proc.wait(timeout=TIMEOUT)  # it returns as soon as the workers are forked
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"dvc queue start still ran after {TIMEOUT} s\n{queue_logs(repo, log)}") from None
        assert proc.returncode == 0, f"dvc queue start exited {proc.returncode}\n{queue_logs(repo, log)}"
        yield proc.pid
    finally:
        killed = stop_queue(repo, proc.pid)
        proc.wait()
        if killed:
            warnings.warn(
                f"killed {len(killed)} DVC queue processes that outlived `dvc queue stop --kill`: " + "; ".join(killed),
                stacklevel=2,
            )


def wait_for_queue(repo: Path, log: Path, timeout: float = QUEUE_TIMEOUT) -> str:
    """Poll `dvc queue status` until nothing is queued or running; its last output. Fails past `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        status = dvc(repo, "queue", "status").stdout
        if not any(word in status for word in ("Queued", "Running")):
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"the queue still ran after {timeout:g} s\n{status}\n{queue_logs(repo, log)}")
        time.sleep(2)
