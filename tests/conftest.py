import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)  # tiny models: extra threads only add contention
STAGE_TIMEOUT = 300  # seconds; the slowest tiny stage takes well under a minute on 2 cores


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie has exited: only its exit status is left)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of session `sid`: a command started with start_new_session=True and every
    descendant that did not setsid() away, whatever process group it moved to (DVC's queue workers do) and even once
    its parent has exited (psutil's children() loses those: they are re-parented to init)."""
    found = []
    for pid in psutil.pids():
        try:
            if pid != os.getpid() and os.getsid(pid) == sid and alive(pid):
                found.append(pid)
        except ProcessLookupError:
            continue
    return found


def kill_session(sid: int, also: tuple[int, ...] = ()) -> list[int]:
    """SIGKILL every process of session `sid` (and the pids in `also`) until none is left; the pids killed."""
    killed: list[int] = []
    for _ in range(50):  # a process may fork while we kill: look again until the session is empty
        pids = sorted(set(session_members(sid)) | {p for p in also if alive(p)})
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
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
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True, **popen_kwargs
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = kill_session(proc.pid)
            proc.wait()
            others = max(0, len(killed) - 1)
            raise TimeoutError(
                f"{' '.join(map(str, cmd))} still ran after {timeout:g} s: killed it and the {others} "
                f"other processes of its session\n--- stdout\n{_text(out)[-4000:]}"
                f"\n--- stderr\n{_text(err)[-4000:]}"
            ) from None
        except BaseException:
            kill_session(proc.pid)
            proc.wait()
            raise
        kill_session(proc.pid)  # anything it forked and left behind in its session: nothing outlives the call
        return subprocess.CompletedProcess(proc.args, proc.returncode, _text(out), _text(err))


def run_stage(
    script: str, args: list, cwd: Path, params: dict | None, env: dict | None = None, timeout: float = STAGE_TIMEOUT
) -> subprocess.CompletedProcess:
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


@pytest.fixture(scope="session")
def synthetic_tree(tmp_path_factory) -> Path:
    """The synthetic results tree (synthetic_results.py: claims stage already run) after the figures stage ran on it:
    built once for test_figures.py and test_report.py, which only read it (the report stage adds reports/)."""
    import synthetic_results as synth

    tree = synth.build(tmp_path_factory.mktemp("synthetic"))
    result = run_stage("figures.py", synth.stage_args("figures"), tree, None)
    assert result.returncode == 0, result.stderr
    return tree


# The longest files first: pytest-xdist (--dist loadfile) hands out whole files in the order they were collected,
# so a long file collected late runs alone at the end while the other worker idles.
LONGEST_FIRST = ("test_pipeline.py", "test_distributed.py", "test_cnn_stages.py", "test_mlp_stages.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its own order
