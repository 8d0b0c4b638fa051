"""User-facing errors: one clear line, non-zero exit, no traceback; a stage stopped by a signal says so in one line."""

import errno
import functools
import logging
import signal
import sys

from nnrepro import log

logger = logging.getLogger(__name__)


class UserError(Exception):
    """Bad input or parameter: the message says what is wrong, where, and how to fix it."""


class Stopped(BaseException):
    """SIGTERM arrived: raised in the main thread like KeyboardInterrupt for SIGINT, so that `finally` blocks
    remove temporary files and the side-by-side workers are killed on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def missing(what, producer: str = "the stage writing it") -> UserError:
    """The one error for a pipeline output that is not there yet: what is missing and which run makes it."""
    return UserError(f"{what} is missing: run `dvc repro` so that {producer} runs first")


# OSErrors a user can act on, and what to do: the error names the file.
_OS_FIXES = {
    errno.ENOSPC: "free disk space and rerun",
    errno.EDQUOT: "free space within your disk quota and rerun",
    errno.EACCES: "check the folder's permissions, or point the stage at another folder",
    errno.EPERM: "check the folder's permissions, or point the stage at another folder",
    errno.EROFS: "the file system is read-only: point the stage at a writable folder",
}


_CLEANUPS: list = []  # what a failed or stopped stage undoes before it exits (on_failure)


def on_failure(cleanup) -> None:
    """Call `cleanup()` if the running stage fails or is stopped (registered once its outputs are known)."""
    _CLEANUPS.append(cleanup)


def _stop(signum, frame):
    raise Stopped(signum)


def exit_on_user_error(main):
    """Wrap a stage's main: logging set up (nnrepro.log); a UserError (or a foreseeable OSError: disk full,
    permission denied) logs one line and exits with status 2, and SIGINT or SIGTERM logs one line and exits with
    128 + the signal's number."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        log.setup()
        previous = signal.signal(signal.SIGTERM, _stop)
        _CLEANUPS.clear()
        try:
            return main(*args, **kwargs)
        except UserError as err:
            _fail(str(err), 2)
        except OSError as err:
            if err.errno not in _OS_FIXES:
                raise
            where = f"{err.filename}: " if err.filename else ""
            _fail(f"{where}{err.strerror}: {_OS_FIXES[err.errno]}", 2)
        except (KeyboardInterrupt, Stopped) as err:
            signum = err.signum if isinstance(err, Stopped) else signal.SIGINT
            name = signal.Signals(signum).name
            _fail(
                f"stopped by {name}, with every worker: no output of this run was kept; rerun to start again",
                128 + signum,
            )
        finally:
            if previous is not None:  # a stage's main called in-process (tests) leaves no handler behind
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def _fail(message: str, status: int):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the clean-up
    for cleanup in _CLEANUPS:
        cleanup()
    logger.error(message)
    sys.exit(status)


def warn(message: str) -> None:
    logger.warning(message)
