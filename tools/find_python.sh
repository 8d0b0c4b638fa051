#!/bin/sh
# Print the Python that makes .venv: $PYTHON when set, else the first of python3.13, python3.12, python3.11,
# python3 that runs and is >= 3.11. One line on stderr and exit 1 when there is none or it has no venv module.
set -u

# "3.12" for an interpreter that runs, nothing otherwise (pyenv shims of versions not enabled fail here).
version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

# True for a version string 3.11 or newer.
recent() {
    case "$1" in
        3.1[1-9] | 3.[2-9][0-9] | [4-9].*) return 0 ;;
        *) return 1 ;;
    esac
}

if [ -n "${PYTHON:-}" ]; then
    found=$(version "$PYTHON")
    [ -n "$found" ] || { echo "error: PYTHON=$PYTHON does not run; set PYTHON=/path/to/python (3.11 or newer)" >&2; exit 1; }
    recent "$found" || { echo "error: PYTHON=$PYTHON is Python $found; nnrepro needs 3.11 or newer" >&2; exit 1; }
    py=$PYTHON
else
    py=""
    for candidate in python3.13 python3.12 python3.11 python3; do
        found=$(version "$candidate") && recent "$found" && { py=$candidate; break; }
    done
    [ -n "$py" ] || { echo "error: no Python >= 3.11 found: install python3.11 or newer, or set PYTHON=/path/to/python" >&2; exit 1; }
fi

# Debian and Ubuntu ship venv and ensurepip apart from the interpreter.
"$py" -c 'import ensurepip, venv' 2>/dev/null || {
    echo "error: $py (Python $found) has no venv module: apt-get install python$found-venv, or set PYTHON=/path/to/python" >&2
    exit 1
}
command -v "$py"
