"""Independent runs of one stage side by side: one process per core, one thread each, so both cores train."""

import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from nnrepro import log
from nnrepro.runtime.device import thread_count


def _threads() -> int | None:
    """Threads this process runs now (Linux), else None."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


PR_SET_PDEATHSIG = 1  # linux/prctl.h
_THREADS_AT_IMPORT = _threads()  # the interpreter's, numpy's BLAS pool's: torch's own pools start with its first ops


def start_method() -> str:
    """fork while this process runs no thread it did not run when this module was imported (stages import it
    before their first torch op), else spawn.

    A forked worker starts in milliseconds; a spawned one imports torch again (about 2 s). But a forked child of a
    process whose OpenMP pool exists can hang in its first parallel op, and a thread's held locks are copied
    locked, so any thread started since the import (an OpenMP team, a Python thread) means spawn.
    """
    now, before = _threads(), _THREADS_AT_IMPORT
    threads_unchanged = now is not None and before is not None and now <= before
    safe = threads_unchanged and "fork" in multiprocessing.get_all_start_methods()
    return "fork" if safe else "spawn"


def run_all(fn, jobs: list[tuple], device: torch.device, workers: int | None = None) -> tuple[list, list[float]]:
    """[fn(*job) for job in jobs] in order, over min(workers, len(jobs)) processes (default: one per core on the
    CPU, one process on a GPU), and each job's wall seconds.

    Each job must seed itself and return picklable results: they then equal running the jobs one by one
    (tests/test_parallel.py). Jobs start in the order given, so put the longest first.
    """
    workers = min(workers or (thread_count() if device.type == "cpu" else 1), len(jobs))
    if workers <= 1:
        done = [_timed(fn, *job) for job in jobs]
    else:
        context = multiprocessing.get_context(start_method())
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_setup) as pool:
            futures = [pool.submit(_timed, fn, *job) for job in jobs]
            try:
                done = [future.result() for future in futures]
            except BaseException:  # a failed job, Ctrl-C or SIGTERM stops the stage and its workers at once
                pool.shutdown(wait=False, cancel_futures=True)
                for worker in multiprocessing.active_children():
                    worker.kill()
                raise
    return [result for result, _ in done], [seconds for _, seconds in done]


def _worker_setup() -> None:
    """One thread; the stage's logging, which a spawned worker does not inherit; SIGINT left to the stage (Ctrl-C
    reaches the whole process group, and the stage kills its workers), SIGTERM back to its default; and on Linux
    the kernel kills the worker when the stage dies, even by SIGKILL, so no worker outlives it."""
    torch.set_num_threads(1)
    log.setup()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the stage died before the line above ran
        os._exit(1)


def _timed(fn, *args):
    began = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - began
