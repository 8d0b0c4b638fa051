"""nnrepro.log: one stderr stream in one format for the stages and the library; stdout stays empty."""

import subprocess
import sys
import textwrap

from conftest import ROOT

SCRIPT = """
import logging, sys
from nnrepro import log
from nnrepro.errors import UserError, exit_on_user_error, warn

@exit_on_user_error
def main():
    log.setup()  # a second set-up (the decorator made the first) adds no second handler
    logging.getLogger("nnrepro.europe.loop").info("mlp_lr: epoch 1/2")
    logging.getLogger("__main__").info("stage: wrote it")
    warn("a.csv: 1 point(s) appear with different labels")
    logging.getLogger("torch.distributed").info("another library's progress")
    logging.getLogger("dvclive").warning("another library's warning")
    logging.getLogger("nnrepro").debug("detail")
    if sys.argv[1] == "fail":
        raise UserError("params.yaml has no 'seed': add it")

main()
"""


def _run(arg: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), arg], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_progress_warnings_and_errors_go_to_stderr_once_each_in_one_format():
    done = _run("fail")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "mlp_lr: epoch 1/2",
        "stage: wrote it",
        "warning: a.csv: 1 point(s) appear with different labels",
        "warning: another library's warning",
        "error: params.yaml has no 'seed': add it",
    ]


def test_a_stage_that_succeeds_exits_0_and_writes_nothing_to_stdout():
    done = _run("pass")
    assert (done.returncode, done.stdout) == (0, "") and done.stderr.splitlines()[-1].startswith("warning: ")
