import faulthandler
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)  # tiny models: extra threads only add contention
STAGE_TIMEOUT = 300  # seconds; the slowest tiny stage takes well under a minute on 2 cores


def _session(pid: int) -> tuple[int, str] | None:
    """(session id, state) of process `pid` from /proc/<pid>/stat; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[3]), fields[0]  # after "pid (comm)": state ppid pgrp session ...


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of session `sid`: a command started with start_new_session=True and every
    descendant that did not setsid() away, whatever process group it moved to (DVC's queue workers do)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            info = _session(int(entry.name))
            if info and info[0] == sid and info[1] not in "ZX":
                found.append(int(entry.name))
    return found


def kill_session(sid: int, also: tuple[int, ...] = ()) -> list[int]:
    """SIGKILL every process of session `sid` (and the pids in `also`) until none is left; the pids killed."""
    killed: list[int] = []
    for _ in range(50):  # a process may fork while we kill: look again until the session is empty
        alive = [p for p in also if (info := _session(p)) and info[1] not in "ZX"]
        pids = sorted(set(session_members(sid)) | set(alive))
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed += [p for p in pids if p not in killed]
        time.sleep(0.05)
    return killed


def _text(file) -> str:
    file.seek(0)
    return file.read().decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")  # as text=True does


def run_bounded(cmd: list, timeout: float, **popen_kwargs) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True), but never hangs.

    Output goes to temp files, not pipes: a daemon the command forks (DVC's queue workers) and that keeps stdout
    open cannot keep us waiting after the command itself exits. The command gets its own session, stdin is
    /dev/null; when it exits, whatever it left in that session is killed; past `timeout` seconds (or on any
    exception, Ctrl-C included) every process of the session is killed and the test fails with the output so far.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                                **popen_kwargs)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = kill_session(proc.pid)
            proc.wait()
            others = max(0, len(killed) - 1)
            raise TimeoutError(f"{' '.join(map(str, cmd))} still ran after {timeout:g} s: killed it and the {others} "
                               f"other processes of its session\n--- stdout\n{_text(out)[-4000:]}"
                               f"\n--- stderr\n{_text(err)[-4000:]}") from None
        except BaseException:
            kill_session(proc.pid)
            proc.wait()
            raise
        kill_session(proc.pid)  # anything it forked and left behind in its session: nothing outlives the call
        return subprocess.CompletedProcess(proc.args, proc.returncode, _text(out), _text(err))


def run_stage(script: str, args: list, cwd: Path, params: dict | None, env: dict | None = None,
              timeout: float = STAGE_TIMEOUT) -> subprocess.CompletedProcess:
    """Run stages/<script> from `cwd`, which holds the given params.yaml (None: as it is), as DVC would."""
    if params is not None:
        (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "NNREPRO_THREADS": "1", **(env or {})}
    return run_bounded([sys.executable, str(ROOT / "stages" / script), *map(str, args)], timeout, cwd=cwd, env=env)


@pytest.fixture
def stage():
    return run_stage


@pytest.fixture
def repo_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


# A last line of defence behind the per-command timeouts: a test phase (setup, call, teardown) that runs past
# `phase_timeout` seconds (pyproject.toml) fails with every thread's stack instead of hanging the suite.
def pytest_addoption(parser):
    parser.addini("phase_timeout", "seconds a test's setup, call or teardown may run before it fails (0: no limit)",
                  default="0")


class PhaseTimeout(Exception):
    pass


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _bounded(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _bounded(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    return (yield from _bounded(item, "teardown"))


def _bounded(item, phase: str):
    limit = float(item.config.getini("phase_timeout") or 0)
    if limit <= 0 or not hasattr(signal, "SIGALRM"):
        return (yield)

    def expire(signum, frame):
        try:  # where every thread stood, to the real stderr (shown under "Captured stderr")
            faulthandler.dump_traceback(file=sys.__stderr__, all_threads=True)
        except (AttributeError, ValueError, OSError):
            pass
        raise PhaseTimeout(f"{item.nodeid}: {phase} still ran after {limit:g} s (phase_timeout in pyproject.toml)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def synthetic_tree(tmp_path_factory) -> Path:
    """The synthetic results tree (synthetic_results.py: claims stage already run) after the figures stage ran on it:
    built once for test_figures.py and test_report.py, which only read it (the report stage adds reports/)."""
    import synthetic_results as synth

    tree = synth.build(tmp_path_factory.mktemp("synthetic"))
    result = run_stage("figures.py", synth.stage_args("figures"), tree, None)
    assert result.returncode == 0, result.stderr
    return tree
