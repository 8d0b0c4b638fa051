"""Atomic writes, JSON helpers and the provenance record."""

import contextlib
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
    try:
        with naming(path):
            yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def naming(path, staged=None):
    """An OSError in the block that names no file (a full disk while writing) names `path`; one that names a file
    in the folder `staged` names it as the file it stands in for under `path`."""
    try:
        yield
    except OSError as err:
        if err.errno is None or (err.filename is not None and staged is None):
            raise
        name = str(err.filename or path)
        if staged is not None and name.startswith(str(staged)):
            name = str(path) + name[len(str(staged)) :]
        raise OSError(err.errno, err.strerror, name) from None


@contextlib.contextmanager
def staging(out):
    """A temporary folder beside the folder `out` that replaces it when the block succeeds; `out` is untouched
    otherwise."""
    import shutil

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        with naming(out, staged=tmp):
            yield tmp
        _swap(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, out: Path) -> None:
    import shutil

    old = out.parent / f".{out.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old, ignore_errors=True)


def check_writable(paths) -> None:
    """Each output path can be created: its nearest existing folder is a writable folder. Checked before a stage
    trains, so a wrong folder costs a second, not a training run."""
    from nnrepro.errors import UserError

    for path in map(Path, paths):
        folder = next(p for p in (path, *path.parents, *path.absolute().parents) if p.exists())
        if folder == path and not path.is_dir():
            folder = path.parent
        if not folder.is_dir():
            raise UserError(f"{path} cannot be written: {folder} is a file, not a folder: choose another path")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UserError(
                f"{path} cannot be written: {folder} is not writable: check its permissions, or point "
                "the stage at another folder"
            )


def remove_new(paths, existed: set) -> None:
    """Delete each of `paths` that did not exist before (in `existed`) but does now: a stopped or failed run's
    partial outputs."""
    import shutil

    for path in map(Path, paths):
        if path in existed or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, data, sort_keys: bool = True) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=sort_keys, allow_nan=False) + "\n")


def read_json(path):
    """A JSON input; a missing or malformed file is a one-line UserError naming it."""
    from nnrepro.errors import UserError, missing

    path = Path(path)
    if not path.is_file():
        raise missing(path)
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise UserError(f"{path} is not valid JSON ({err}): rerun the stage that writes it") from None


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo): machines of one kind differ about 2x in speed, so every time names it."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    return next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )


def provenance(first_seed: int | None, device: str) -> dict:
    """The first replicate's seed (replicates.first; None in a stage that trains nothing), device and library
    versions of a stage (no wall-clock values, so reruns compare equal)."""
    import numpy
    import torch

    return {
        "replicates_first": first_seed,
        "device": device,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.machine(),
    }


def write_csv(path, frame, sep: str = ",") -> None:
    """A pandas DataFrame as CSV (or another `sep`) without its index, written atomically."""
    write_text(path, frame.to_csv(index=False, lineterminator="\n", sep=sep))


def finite_or_none(value):
    """JSON has no NaN: a non-finite float becomes null."""
    import math

    return None if isinstance(value, float) and not math.isfinite(value) else value


def save_torch(obj, path) -> None:
    """torch.save, atomically, into the same bytes for the same object: saved through a file object, as torch
    names the zip's inner folder after a path it is given (here a random temporary name), so that DVC's hash of a
    retrained, identical model does not change and rerun what depends on it."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(obj, handle)


def load_torch(path, fix: str):
    """torch.load(weights_only=True) of a pipeline file; missing or unreadable is a one-line UserError."""
    import pickle

    import torch

    from nnrepro.errors import UserError

    if not Path(path).is_file():
        raise UserError(f"{path} not found: {fix}")
    try:
        return torch.load(path, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as err:
        raise UserError(f"{path} cannot be read ({type(err).__name__}): {fix}") from None


HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "validation_loss", "validation_acc", "test_loss", "test_acc")


REPLICATES_FILE = "replicates.tsv"  # in a run's DVCLive folder: every replicate's history, one row per evaluation


def log_replicates(histories: list[list[dict]], live_dir, keys: tuple = HISTORY_KEYS) -> None:
    """Each replicate's history in one table, <live_dir>/replicates.tsv: columns replicate (rep<k>), step and the
    keys (one file per run, not DVCLive's seven per replicate: `dvc repro` hashes every file of a plots folder)."""
    from nnrepro.replicates import REPLICATE

    _log_long(
        Path(live_dir) / REPLICATES_FILE,
        "replicate",
        {REPLICATE.format(k): history for k, history in enumerate(histories)},
        keys,
    )


def log_cells(path, histories: dict[str, list[dict]], keys: tuple = HISTORY_KEYS) -> None:
    """Cells' histories in one long table: columns cell, step and the keys. One file per figure, whatever cells a
    swept params list makes: dvc.yaml's top-level plots name it, and the series template colours by cell."""
    _log_long(path, "cell", histories, keys)


def _log_long(path, label: str, histories: dict[str, list[dict]], keys: tuple) -> None:
    import pandas as pd

    rows = [
        {label: name, "step": step, **{key: row[key] for key in keys if key in row}}
        for name, history in histories.items()
        for step, row in enumerate(history)
    ]
    write_csv(path, pd.DataFrame(rows), sep="\t")


LIVE_FLUSH_SECONDS = 2.0  # a live history reaches disk at most this often, and at its end


class LiveHistory:
    """A DVCLive folder written while training runs, so `dvc plots show` and `dvc metrics show` on it see the epochs
    done so far: key 'validation_loss' -> <live_dir>/plots/metrics/validation/loss.tsv, and <live_dir>/metrics.json
    with the latest values and step. Rows are kept and written at most every `every` seconds (the first at once) and at
    close(); the files then equal those of the whole history logged at once, byte for byte."""

    def __init__(self, live_dir, keys: tuple = HISTORY_KEYS, every: float = LIVE_FLUSH_SECONDS):
        from dvclive import Live

        self.live = Live(str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None)
        self.keys, self.every, self.flushed = keys, every, -math.inf
        self.rows: list[dict] = []

    def log(self, row: dict) -> None:
        self.rows.append(row)
        if time.monotonic() - self.flushed >= self.every:
            self.flush()

    def flush(self) -> None:
        # make_summary once per flush, not Live.next_step per row: next_step also re-reads every step file, at
        # every step, for DVC Studio (never reached: runs use no network) and starts a thread in this process.
        # What remains is DVCLive's append per value, about 1 ms per row of 7 values.
        for row in self.rows:
            for key in self.keys:
                if key in row:
                    self.live.log_metric(key.replace("_", "/", 1) if "_" in key else key, row[key], timestamp=False)
            self.live.step += 1
        if self.rows:
            self.live.step -= 1
            self.live.make_summary()
            self.live.step += 1
        self.rows, self.flushed = [], time.monotonic()

    def close(self) -> None:
        self.flush()
        self.live.end()


def log_history(history: list[dict], live_dir, keys: tuple = HISTORY_KEYS) -> None:
    """A finished history as DVCLive step files (LiveHistory, all rows at once)."""
    live = LiveHistory(live_dir, keys, every=math.inf)
    for row in history:
        live.log(row)
    live.close()
