"""The machine and versions a benchmark ran on, named in every results file beside its absolute times."""

import os
import platform
from importlib import metadata

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
