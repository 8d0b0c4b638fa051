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

PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Imported once by the fork server: torch, so each worker forks with it ready, and the guard that ties the fork
# server's life to the stage's.
PRELOAD = ["torch", "nnrepro.runtime.forkserver_guard"]


def start_method() -> str:
    """forkserver where the platform has it (Linux, macOS), else spawn: chosen by the platform alone, never by what
    the stage ran before.

    Plain fork is fast but its safety depends on the parent's past: a forked child of a process whose OpenMP pool
    exists can hang in its first parallel op, and a thread's held locks are copied locked. The fork server is a
    fresh process that imports PRELOAD and runs no op and no thread, so workers forked from it are safe whatever
    the stage did, and start in milliseconds. The server's own start costs about 1.3 s once per stage, where
    spawning two workers costs 2-3.5 s at every call (measured side by side on a 2-core AMD EPYC; fork: 0.05 s)."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def run_all(fn, jobs: list[tuple], device: torch.device, workers: int | None = None) -> tuple[list, list[float]]:
    """[fn(*job) for job in jobs] in order, over min(workers, len(jobs)) processes (default: one per core on the
    CPU: device.thread_count(), one process on a GPU), and each job's wall seconds.

    Each job must seed itself and return picklable results: they then equal running the jobs one by one
    (tests/test_parallel.py). Jobs start in the order given, so put the longest first.
    """
    workers = min(workers or (thread_count() if device.type == "cpu" else 1), len(jobs))
    if workers <= 1:
        done = [_timed(fn, *job) for job in jobs]
    else:
        context = multiprocessing.get_context(start_method())
        if start_method() == "forkserver":
            context.set_forkserver_preload(PRELOAD)
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
    die_with_parent()


def die_with_parent() -> None:
    """On Linux, the kernel kills this process when its parent dies, even by SIGKILL (a worker: its stage, or the
    fork server, which dies with the stage: forkserver_guard)."""
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
