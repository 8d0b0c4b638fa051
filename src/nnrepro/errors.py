"""User-facing errors: one clear line, non-zero exit, no traceback."""

import functools
import logging
import sys

from nnrepro import log

logger = logging.getLogger(__name__)


class UserError(Exception):
    """Bad input or parameter: the message says what is wrong, where, and how to fix it."""


def missing(what, producer: str = "the stage writing it") -> UserError:
    """The one error for a pipeline output that is not there yet: what is missing and which run makes it."""
    return UserError(f"{what} is missing: run `dvc repro` so that {producer} runs first")


def exit_on_user_error(main):
    """Wrap a stage's main: logging set up (nnrepro.log), and a UserError logged as one line, exit status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        log.setup()
        try:
            return main(*args, **kwargs)
        except UserError as err:
            logger.error(err)
            sys.exit(2)

    return wrapper


def warn(message: str) -> None:
    logger.warning(message)
