"""Device, threads and seeding: chosen once per stage and passed down."""

import os
import random

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


def thread_count() -> int:
    """NNREPRO_THREADS if set (e.g. one job's share under `dvc queue start -j N`), else every core."""
    value = os.environ.get("NNREPRO_THREADS", "")
    if not value:
        return os.cpu_count() or 1
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
