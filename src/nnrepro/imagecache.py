"""The decoded image cache on disk: per split one uint8 .npy array [n, 3, S, S], memory-mapped when read, and an
index of labels and file names. Nothing here imports torch, so the stages that do not train stay light."""

import json
import os
from pathlib import Path

import numpy as np

from nnrepro.errors import UserError

INDEX = "index.json"
FIX = "run `dvc repro prepare_faces` (add --force if the cache is damaged)"


def allocate(folder, split: str, count: int, size: int) -> np.memmap:
    """A writable memory-mapped uint8 [count, 3, size, size] array for `split`, filled by the caller."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{split}.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(count, 3, size, size))
    if hasattr(os, "posix_fallocate"):  # the disk space now: a full disk is an OSError here, not a SIGBUS later
        with open(path, "r+b") as handle:
            try:
                os.posix_fallocate(handle.fileno(), 0, array.offset + array.nbytes)
            except OSError as err:
                raise OSError(err.errno, err.strerror, str(path)) from None
    return array


def write_index(folder, labels: dict, names: dict) -> None:
    index = {split: {"labels": [int(y) for y in labels[split]], "names": list(names[split])} for split in labels}
    (Path(folder) / INDEX).write_text(json.dumps(index) + "\n")


def store(data: dict, folder) -> None:
    """In-memory data (split -> images, labels, names) written as a cache."""
    for split, d in data.items():
        images = np.asarray(d["images"])
        allocate(folder, split, len(images), images.shape[-1])[:] = images
    write_index(folder, {s: d["labels"] for s, d in data.items()}, {s: d["names"] for s, d in data.items()})


def load(folder) -> dict:
    """split -> {"images": read-only memory map [n, 3, S, S], "labels": int64 [n], "names": [n]}."""
    folder = Path(folder)
    if not (folder / INDEX).is_file():
        raise UserError(f"{folder} not found or not an image cache (no {INDEX}): {FIX}")
    try:
        index = json.loads((folder / INDEX).read_text())
        data = {
            split: {
                "images": np.load(folder / f"{split}.npy", mmap_mode="r"),
                "labels": np.asarray(entry["labels"], dtype=np.int64),
                "names": entry["names"],
            }
            for split, entry in index.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise UserError(f"{folder} cannot be read as an image cache ({type(err).__name__}): {FIX}") from None
    for split, d in data.items():
        images = d["images"]
        if images.dtype != np.uint8 or images.ndim != 4 or not len(images) == len(d["labels"]) == len(d["names"]):
            raise UserError(f"{folder / split}.npy does not match {folder / INDEX}: {FIX}")
    return data
