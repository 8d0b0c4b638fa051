"""One logging set-up for every stage: progress, warnings and errors go to stderr in one format, so stdout carries
only what a user would pipe. Library modules log to logging.getLogger(__name__), stage scripts to their __main__."""

import logging
import sys

# At INFO; other libraries' loggers (torch, dvclive) show warnings and errors only. A worker process started by
# spawn or a fork server imports the stage script as __mp_main__, so a job defined there logs under that name.
OURS = ("nnrepro", "__main__", "__mp_main__")


class _Format(logging.Formatter):
    """Progress as the message alone; 'warning: ...' and 'error: ...' above it (the one-line user errors)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


class _Stderr(logging.StreamHandler):
    """Writes to sys.stderr as it is at each record (pytest swaps it per test), flushed at once."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup() -> None:
    """Route every logger to one stderr handler with one format; a second call changes nothing."""
    root = logging.getLogger()
    if not any(isinstance(handler, _Stderr) for handler in root.handlers):
        handler = _Stderr()
        handler.setFormatter(_Format("%(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OURS:
        logging.getLogger(name).setLevel(logging.INFO)
