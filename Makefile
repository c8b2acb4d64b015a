# GeoRSMLLM for QGIS. `make run` and `make test` each do whatever set-up they need first.
SHELL := /bin/bash
PY := .venv/bin/python
export QT_QPA_PLATFORM ?= offscreen
PLUGIN_NAME := georsmllm
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)

.PHONY: setup setup-core lint test test-unit test-qgis run serve package capabilities translations screenshot bench clean

setup:
	@scripts/setup.sh

setup-core:
	@scripts/setup.sh --no-ml

# Lint first (ruff.toml: real mistakes, not taste), then every test.
lint: setup
	$(PY) -m ruff check .

test: setup lint
	$(PY) -m pytest tests

test-unit: setup
	$(PY) -m pytest tests/unit

test-qgis: setup
	$(PY) -m pytest tests/qgis

run: setup
	@scripts/run_sample.sh

serve: setup
	$(PY) -m model_backend serve

translations:
	@scripts/translations.sh

# The backend's vocabulary (tasks, dialects, engines, defaults, output fields) as the plugin ships it, for when
# no backend runs; tests/unit/test_vocabulary.py fails when it differs from the backend's.
capabilities:
	$(PY) -m model_backend capabilities --json > resources/capabilities.json

# A real QGIS window under Xvfb with the dock and results (docs/screenshot.png, -running.png, -refine.png;
# used in the README).
screenshot: setup
	@scripts/screenshot.sh

# A zip the QGIS plugin manager installs: the committed plugin files under one folder, without tests and dev files
# (see .gitattributes export-ignore), checked as plugins.qgis.org checks an upload (scripts/package.py).
# Uncommitted changes are not included.
package:
	python3 scripts/package.py

# Benchmarks that print figures against the targets (bench/README.md); several minutes, a 3.4 GB temp file.
bench: setup
	@bench/run_all.sh

clean:
	rm -rf dist .pytest_cache
