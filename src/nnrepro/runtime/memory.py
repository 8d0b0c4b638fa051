"""glibc's malloc told to keep the memory a training step frees, so the next step reuses it.

By default glibc maps every allocation of 128 KiB or more afresh (mmap) and hands freed memory at the heap's top back
to the kernel. A training step frees its activations and allocates the same sizes again, so each step touches fresh
pages and pays a page fault for each 4 KiB: 1,764 a step in the 10x64 grid cell (8 runs stacked), 34,000 in a
MobileNetV2 step (batch 32, 64 px). Kept, the same steps fault almost never. Measured on a 2-core AMD EPYC, one
thread, steps alternating in one script: the 10x64 step 11.2 -> 7.9 ms, 2x64 2.83 -> 1.35 ms, MobileNetV2 200 ->
143 ms; the 6x16 step (128 KiB activations) does not change. Only where memory comes from changes, never a number
computed (tests/test_memory.py).
"""

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # malloc.h
MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts on 64-bit: allocations below it come from the heap
TRIM_THRESHOLD = 512 << 20  # freed memory kept at the heap's top before any goes back to the kernel


def keep_freed_memory() -> bool:
    """Allocations under 32 MiB served from the heap, and up to 512 MiB of freed heap kept for reuse: on glibc
    (Linux); elsewhere nothing changes. True where both settings took."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
