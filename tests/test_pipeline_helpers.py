"""The helpers the pipeline tests run commands with (tests/pipeline_helpers.py): a command returns when it exits and
leaves no process behind, past its timeout it fails with its output, and a DVC queue that never ends fails its wait
with its workers killed: where CI once hung (21 minutes on `dvc queue start`, whose forked workers held the
captured pipes while one of them never exited). Apart from test_pipeline.py, so they need not wait for its
shared tiny-params repro."""

import sys
import time

import pipeline_helpers as h
import pytest
from conftest import alive

pytestmark = pytest.mark.slow


FORKS_A_DAEMON = """import os, sys, time
if os.fork() == 0:  # the daemon: keeps the inherited stdout and stderr, never exits
    open(sys.argv[1], "w").write(str(os.getpid()))
    time.sleep(3600)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
print("parent done")
"""


def test_a_command_returns_when_it_exits_though_its_daemon_holds_the_output_and_the_daemon_is_killed(tmp_path):
    start = time.monotonic()
    done = h.sh(tmp_path, sys.executable, "-c", FORKS_A_DAEMON, str(tmp_path / "daemon.pid"), timeout=60)
    assert done.stdout == "parent done\n" and time.monotonic() - start < 30
    assert not alive(int((tmp_path / "daemon.pid").read_text()))


def test_a_command_past_its_timeout_fails_with_its_output_and_leaves_no_process(tmp_path):
    hangs = "import os, time\nopen('pid', 'w').write(str(os.getpid()))\nprint('started', flush=True)\ntime.sleep(3600)"
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"(?s)still ran after 3 s.*started"):
        h.sh(tmp_path, sys.executable, "-c", hangs, timeout=3)
    assert time.monotonic() - start < 30 and not alive(int((tmp_path / "pid").read_text()))


@pytest.mark.filterwarnings("ignore:killed .* DVC queue processes")  # the planted stage: `stop --kill` leaves it
def test_a_queued_experiment_that_never_ends_fails_the_wait_and_its_worker_is_killed(tmp_path):
    """A planted hang: the stage sleeps for an hour, so its worker never exits. The wait fails in its time and the
    queue's processes are all gone afterwards."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "params.yaml").write_text("x: 1\n")
    (repo / "dvc.yaml").write_text(
        "stages:\n  hang:\n    cmd: python -c 'import time; time.sleep(3600)'\n    params: [x]\n"
    )
    h.sh(repo, "git", "init", "-q", "-b", "main")
    h.dvc(repo, "init", "-q")
    h.dvc(repo, "config", "core.check_update", "false")
    h.sh(repo, "git", "add", "-A")
    h.sh(repo, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "0")
    h.dvc(repo, "exp", "run", "--queue", "-n", "hangs", "-S", "x=2")
    log, sessions, start = tmp_path / "queue.log", [], time.monotonic()
    with (
        pytest.raises(TimeoutError, match=r"(?s)the queue still ran after 5 s.*Running"),
        h.queue_started(repo, 1, log) as sid,
    ):
        sessions.append(sid)
        while not any("sleep(3600)" in h.cmdline(pid) for pid in h.queue_processes(repo, sid)):
            assert time.monotonic() - start < 90, f"the stage never ran\n{h.queue_logs(repo, log)}"
            time.sleep(0.5)
        h.wait_for_queue(repo, log, timeout=5)
    assert time.monotonic() - start < 120
    assert not h.queue_processes(repo, sessions[0])
