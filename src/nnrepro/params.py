"""Reading params.yaml and validating values, with one-line errors that name the parameter."""

import math
from pathlib import Path

import yaml

from nnrepro.errors import UserError


def load(path="params.yaml") -> dict:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: run the stage from the repository root")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML ({str(err).splitlines()[0]}): fix the syntax") from None
    if not isinstance(params, dict):
        raise UserError(f"{path} must be a mapping of parameter names to values")
    return params


def get(params: dict, dotted: str):
    """params['a']['b'] for 'a.b', with an error naming the missing key."""
    value = params
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise UserError(f"params.yaml has no '{dotted}': add it (see the README's parameter list)")
        value = value[key]
    return value


def positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a positive number in params.yaml, got {value!r}")
    return float(value)


def integer(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum} in params.yaml, got {value!r}")
    return value


def nonempty_list(value, name: str) -> list:
    if not isinstance(value, list) or not value:
        raise UserError(f"{name} must be a non-empty list in params.yaml, got {value!r}")
    return value


def choice(value, name: str, options) -> str:
    if value not in options:
        raise UserError(f"{name} must be one of {', '.join(map(str, options))} in params.yaml, got {value!r}")
    return value
