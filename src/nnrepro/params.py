"""params.yaml through one accessor: it validates each value, names the key in one-line errors, and records the
keys it served, so a test can hold every stage's reads against the params it declares in dvc.yaml."""

import atexit
import json
import math
import os
import sys
from pathlib import Path

import yaml

from nnrepro.errors import UserError

LOG_ENV = "NNREPRO_PARAMS_LOG"  # a folder: each stage process writes the keys it read there (tests only)
# Every key params.yaml may hold, per section ("": the top level); tests/test_params.py holds it against the
# repository's params.yaml. A key outside it is refused: nothing would read it (a misspelt `-S +mlp_long.epoch=5`).
SCHEMA = {
    "": "data_seed device lr",
    "replicates": "first mlp grad_probe probe cnn",
    "europe": "source csv_dir n_train n_validation n_test",
    "mlp": "depth width features batch_size epochs",
    "mlp_lr": "lrs batchnorm",
    "mlp_long": "epochs",
    "mlp_batch": "pairs first_epoch_evals",
    "mlp_grid": "depths widths",
    "evaluate": "select_from mesh",
    "grad_probe": "depth width epochs batch_size layers",
    "faces": "source image_dir n_train n_validation n_test image_size",
    "cnn": "arch lrs epochs batch_size image_size weights_path allow_download memory_mb nproc_per_node",
    "xgboost": "crop",
    "figures": "dpi",
}
KNOWN = frozenset(f"{section}.{key}".lstrip(".") for section, keys in SCHEMA.items() for key in keys.split())
RENAMED = {  # keys of older params.yaml files -> what replaced them
    "seed": "data_seed (the data) and replicates.first (the runs)",
    "seeds": "replicates.mlp",
    "grad_probe.seeds": "replicates.grad_probe",
    "cnn.seeds": "replicates.cnn",
    "cnn.probe_seeds": "replicates.probe",
}


class Params:
    """The parsed params.yaml; every read goes through `get` (or a typed getter) and is recorded."""

    served: set[str]  # the dotted keys read so far

    def __init__(self, values: dict, source: str = "params.yaml"):
        self.values, self.source, self.served = values, source, set()

    def get(self, dotted: str):
        """The raw value at 'a.b'; a missing key is a one-line error naming it."""
        value = self.unrecorded(dotted)
        self.served.add(dotted)
        return value

    def unrecorded(self, dotted: str):
        """The raw value at 'a.b', not recorded as served: only for a key that changes no result (cnn.memory_mb),
        which is therefore no DVC param of the stage reading it."""
        value = self.values
        for key in dotted.split("."):
            if not isinstance(value, dict) or key not in value:
                raise UserError(
                    f"{self.source} has no '{dotted}': add it (the repository's params.yaml has every key, commented)"
                )
            value = value[key]
        return value

    def positive(self, dotted: str) -> float:
        return positive(self.get(dotted), dotted)

    def integer(self, dotted: str, minimum: int = 1) -> int:
        return integer(self.get(dotted), dotted, minimum)

    def boolean(self, dotted: str) -> bool:
        return boolean(self.get(dotted), dotted)

    def choice(self, dotted: str, options) -> str:
        return choice(self.get(dotted), dotted, options)

    def text(self, dotted: str) -> str:
        value = self.get(dotted)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise UserError(f"{dotted} must be a string in {self.source}, got {value!r}")
        return value

    def items(self, dotted: str, check) -> list:
        """A non-empty list, each entry validated by `check(value, name)`."""
        return [check(v, dotted) for v in nonempty_list(self.get(dotted), dotted)]


def load(path="params.yaml") -> Params:
    """params.yaml parsed; under NNREPRO_PARAMS_LOG the keys served are written there when the process ends."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: run the stage from the repository root")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML ({str(err).splitlines()[0]}): fix the syntax") from None
    if not isinstance(values, dict):
        raise UserError(f"{path} must be a mapping of parameter names to values")
    check_known(values, str(path))
    params = Params(values, str(path))
    if os.environ.get(LOG_ENV):
        atexit.register(_log, params, Path(os.environ[LOG_ENV]))
    return params


def leaves(values: dict, prefix: str = "") -> list[str]:
    """The dotted names of every non-mapping value ('mlp.depth')."""
    names = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        names += leaves(value, name + ".") if isinstance(value, dict) and value else [name]
    return names


def check_known(values: dict, source: str) -> None:
    """A one-line error for the first key no stage reads, naming the closest known key."""
    import difflib

    sections = {name.rpartition(".")[0] for name in KNOWN}
    unknown = [name for name in leaves(values) if name not in KNOWN and name not in sections]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(KNOWN), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        if unknown[0] in RENAMED:
            hint = f"it is now {RENAMED[unknown[0]]}: "
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise UserError(f"{source} has '{unknown[0]}'{more}, which no stage reads: {hint}rename or remove it")


def _log(params: Params, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"argv": sys.argv, "cwd": os.getcwd(), "keys": sorted(params.served)}
    (folder / f"{os.getpid()}.json").write_text(json.dumps(record))


def out_folder_and_params(description: str, example: str) -> tuple[Path, "Params"]:
    """The prepare stages' command line (--out FOLDER) and params.yaml."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help=f"output folder, e.g. {example}")
    out = parser.parse_args().out
    from nnrepro import io

    io.check_writable([out])
    return out, load()


def relative_hint(folder) -> str:
    """Why a relative folder may be missing: `dvc exp run --temp` and queued runs work in a copy of the
    repository, where only what git and DVC track exists."""
    if str(folder) and not Path(folder).is_absolute() and ".dvc/tmp" in Path.cwd().as_posix():
        return (
            f" (a relative folder is read inside DVC's temporary copy {Path.cwd()}, where only files git or DVC "
            "track exist: give an absolute path)"
        )
    return ""


def positive(value, name: str) -> int | float:
    """A positive finite number, returned as written (an integer stays one: cell names follow DVC's spelling)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a positive number in params.yaml, got {value!r}")
    return value


def integer(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum} in params.yaml, got {value!r}")
    return value


def boolean(value, name: str) -> bool:
    """Only YAML's true/false: a quoted "false" is a string, and reading it as true could switch a download on."""
    if not isinstance(value, bool):
        raise UserError(f"{name} must be true or false (unquoted) in params.yaml, got {value!r}")
    return value


def nonempty_list(value, name: str) -> list:
    if not isinstance(value, list) or not value:
        raise UserError(f"{name} must be a non-empty list in params.yaml, got {value!r}")
    return value


def choice(value, name: str, options) -> str:
    if value not in options:
        raise UserError(f"{name} must be one of {', '.join(map(str, options))} in params.yaml, got {value!r}")
    return value
