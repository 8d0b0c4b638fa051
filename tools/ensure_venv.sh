#!/bin/sh
# Make the virtual environment $1 unless it already works; a half-made one (no pip, or a python that does not
# run) is made again from scratch with the Python tools/find_python.sh picks.
set -eu
venv=$1
if [ -x "$venv/bin/pip" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    exit 0
fi
py=$(/bin/sh "${0%/*}/find_python.sh")
echo "making $venv with $py"
"$py" -m venv --clear "$venv"
