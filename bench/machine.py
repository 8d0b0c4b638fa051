"""The machine and versions a benchmark ran on, named in every results file beside its absolute times."""

import json
import os
import platform
from importlib import metadata
from pathlib import Path

from nnrepro.io import cpu_model


def describe(*packages: str) -> dict:
    """CPU model, core count and the versions of Python and `packages` (torch's with its CUDA build, e.g. +cu130)."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(),
            "versions": {"python": platform.python_version(), **{name: installed(name) for name in packages}}}


def installed(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def write_with_findings(found: dict, out: Path, write: bool = True) -> None:
    """Print `found` as JSON and write it to `out`, carrying over out's hand-made 'findings' (measurements made by hand
    beside an earlier run, kept until someone measures them again)."""
    found["findings"] = json.loads(out.read_text()).get("findings", {}) if out.exists() else {}
    text = json.dumps(found, indent=1) + "\n"
    print(text)
    if write:
        out.write_text(text)
