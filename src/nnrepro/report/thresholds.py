"""The registered thresholds (reference/thresholds.yaml): each claim module's THRESHOLDS with the course's words,
our reading, its value, whether it was set before or after a committed result showed its quantity, the commit
that set it, and its previous value where it was re-derived from the course's text alone (a value in the unit of its
current one, that the claim is re-judged with; null otherwise)."""

from pathlib import Path

import yaml

from nnrepro.errors import UserError

BLOCKS = ("core", "optimisation", "batch", "evaluation", "gradients", "cnn")  # core, then the report's sections
FIELDS = ("value", "words", "reading", "registered", "commit", "previous")
REGISTERED = ("before", "after")


def _entry(path: Path, block: str, name: str, entry) -> dict:
    where = f"{path}: {block}.{name}"
    if not isinstance(entry, dict) or set(entry) != set(FIELDS):
        raise UserError(f"{where} must have exactly the fields {', '.join(FIELDS)}")
    if entry["registered"] not in REGISTERED:
        raise UserError(f"{where}: registered is {entry['registered']!r}; write before or after")
    if not str(entry["words"]).strip() or not str(entry["reading"]).strip() or not entry["commit"]:
        raise UserError(f"{where}: words, reading and commit must not be empty")
    previous, value = entry["previous"], entry["value"]
    if previous is not None and not (_numbers(previous, value) or type(previous) is type(value)):
        raise UserError(
            f"{where}: previous {previous!r} is not a value like {value!r}; write null and the old rule in reading"
        )
    if previous is not None and previous == value:
        raise UserError(f"{where}: previous equals value; write null (previous is a value the threshold moved from)")
    return entry


def _numbers(*values) -> bool:
    """Every value a number (a bool is none)."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def load(path: Path) -> dict:
    """{block: {NAME: entry}} in BLOCKS order; a malformed file is a UserError naming the entry and the fix."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"{path} cannot be read as YAML ({error}); restore it from git") from error
    if not isinstance(data, dict) or list(data) != list(BLOCKS):
        raise UserError(f"{path} must have the blocks {', '.join(BLOCKS)}, in that order")
    return {
        block: {name: _entry(path, block, name, entry) for name, entry in (data[block] or {}).items()}
        for block in BLOCKS
    }


def previous_values(registry: dict) -> dict:
    """{block: {NAME: previous value}} of the thresholds re-derived from the course's text (previous not null)."""
    return {
        block: {name: e["previous"] for name, e in entries.items() if e["previous"] is not None}
        for block, entries in registry.items()
    }
