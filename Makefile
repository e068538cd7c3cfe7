# storytrail — one command sets up and runs each job. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python >= 3.11 (3.12 preferred: the lock is resolved for it, and the image uses it).
PYTHON ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.13 python3.11 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist): the suite waits on sockets and subprocesses, so 2 on 2 cores.
TEST_WORKERS ?= 2

.PHONY: help setup demo test check lint typecheck imports bench bench-scale lock container-smoke compose-scale clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.11 found (set PYTHON=/path/to/python3.12)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements-dev.lock
	@# the editable install's "Editable installation" notice is information only (setuptools says so)
	PYTHONWARNINGS="ignore:Editable installation:UserWarning" $(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)  ## build .venv from the locked dependencies

demo: $(STAMP)  ## run the offline demo (local news site on 127.0.0.1:8765 -> ./storytrail-demo.db; a rerun refreshes it)
	$(BIN)/storytrail demo

test: $(STAMP)  ## run every check: lint, types, import layers, then the test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

check: test  ## same as test

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

bench: $(STAMP)  ## run the benchmarks and write bench/RESULTS.md
	$(BIN)/python -m bench.run

VERSIONS ?= 1000000
bench-scale: $(STAMP)  ## the archive at scale (VERSIONS=1000000), SQLite and PostgreSQL; into bench/RESULTS.md
	STORYTRAIL_BENCH_VERSIONS=$(VERSIONS) $(BIN)/python -m bench.run scale

lock:  ## re-resolve requirements*.lock from pyproject.toml (hashes, no download addresses)
	$(BIN)/python -m pip install -q uv
	$(BIN)/python -m uv pip compile pyproject.toml --extra build --extra notify --generate-hashes --python-version 3.12 -q -o requirements.lock
	$(BIN)/python -m uv pip compile pyproject.toml --extra build --extra notify --extra browser --extra research --extra dev --generate-hashes --python-version 3.12 -q -o requirements-dev.lock

container-smoke:  ## build and run the image with podman (no Docker daemon needed)
	bash .ci/container.sh

compose-scale:  ## docker-compose.yml with 3 daemons, end to end with podman (a few minutes; not in CI)
	bash .ci/compose.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
