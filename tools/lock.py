"""Write constraints.txt from `pip freeze` of a fresh environment (tools/lock.sh makes it): pip and setuptools
first (freeze leaves them out; the Makefile installs them before the rest), then every other package, then the
CUDA wheels that PyPI's Linux torch and xgboost pull in, apart, so a CPU-only torch visibly needs none of them.
Usage: pip freeze --exclude-editable | python tools/lock.py PIP_VERSION SETUPTOOLS_VERSION > constraints.txt"""

import re
import sys

HEADER = """\
# The tested lock: every package `make setup` installs, pinned (tools/lock.sh writes it; docs/development.md).
# pyproject.toml declares the ranges; `pip install -c constraints.txt -e .[test,dev]` resolves them to these pins.
# pip and setuptools first: the Makefile installs them before the rest, and setuptools builds the editable
# install without build isolation.
"""
CUDA_HEADER = """
# CUDA wheels: PyPI's Linux x86_64 torch depends on the cu13 ones and triton, xgboost on nvidia-nccl-cu12.
# A CPU-only torch (PyTorch's own CPU index) installs none of them; constraints on absent packages are inert.
"""
# nvidia-ml-py is not one: a pure-Python binding that dvclive needs on any machine.
CUDA = re.compile(r"^(nvidia-(?!ml-py)|cuda-|triton==)", re.IGNORECASE)


def lock(freeze: str, pip: str, setuptools: str) -> str:
    lines = {line.strip() for line in freeze.splitlines() if "==" in line}
    pins = sorted(lines, key=lambda pin: pin.split("==")[0].lower())
    cuda = [p for p in pins if CUDA.match(p)]
    rest = [p for p in pins if not CUDA.match(p)]
    first = [f"pip=={pip}", f"setuptools=={setuptools}"]
    return HEADER + "\n".join(first + rest) + "\n" + CUDA_HEADER + "\n".join(cuda) + "\n"


if __name__ == "__main__":
    sys.stdout.write(lock(sys.stdin.read(), *sys.argv[1:3]))
