"""Device, threads and seeding: chosen once per stage and passed down."""

import math
import os
import random
from pathlib import Path

import numpy as np
import torch

from nnrepro.errors import UserError

NAMES = ("auto", "cpu", "cuda")


def pick_device(name: str) -> torch.device:
    """'auto' means cuda when present, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device is cuda in params.yaml but no CUDA GPU is visible: set device: auto or cpu")
    return torch.device(name)


CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")  # "<quota> <period>" in microseconds, or "max <period>"
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")  # cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us


def _cgroup_cpus() -> float | None:
    """The CPUs the container's CPU quota allows (quota / period, cgroup v2 or v1), or None without a quota."""
    v2, v1 = CGROUP_V2_MAX, CGROUP_V1
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        if (v1 / "cpu.cfs_quota_us").is_file():
            quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
            return None if quota_us <= 0 else quota_us / int((v1 / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None


def available_cpus() -> int:
    """The cores this process may use: the CPUs it is pinned to (sched_getaffinity: taskset, a batch system), capped
    by the container's CPU quota rounded up (cgroups: docker --cpus, Kubernetes limits); os.cpu_count() counts the
    machine's cores and would oversubscribe both."""
    pinned = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_cpus()
    return max(1, min(pinned, math.ceil(quota)) if quota else pinned)


def thread_count() -> int:
    """NNREPRO_THREADS if set (e.g. one job's share under `dvc queue start -j N`), else available_cpus()."""
    value = os.environ.get("NNREPRO_THREADS", "")
    if not value:
        return available_cpus()
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"NNREPRO_THREADS must be a positive integer, got {value!r}")
    return int(value)


def setup(seed: int, device_name: str, threads: int | None = None) -> torch.device:
    """Seed every generator, set the thread count (default: thread_count()) and return the device."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads or thread_count())
    return pick_device(device_name)
