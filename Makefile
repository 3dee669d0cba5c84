# Two commands matter: `make serve` and `make test`. Both set everything up first, from the
# hash-pinned lock files in requirements/ (`make lock` refreshes them from pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PORT ?= 50051
HTTP_PORT ?= 8080
DATA_DIR ?= ./curator-data
LOCK_VENV := .venv-lock
LOCK_FLAGS ?=
PY311 := requirements/*.txt are locked for CPython 3.11 on x86_64 Linux: run with PYTHON=python3.11

.PHONY: serve test setup setup-serve proto lint bench lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(None if sys.version_info[:2] == (3, 11) else "$(PY311)")'
	$(PYTHON) -m venv $(VENV)

# pip, setuptools and wheel at their locked versions: curator itself then installs with
# --no-build-isolation, so nothing unpinned is fetched to build it.
$(VENV)/.installed-build: requirements/build.txt | $(BIN)/python
	$(PIP) install -q --require-hashes -r requirements/build.txt
	touch $@

# One stamp per lock: `make serve` installs requirements/serve.txt, `make test` requirements/dev.txt
# (a superset at the same versions). A changed lock or pyproject.toml installs again.
$(VENV)/.installed-%: requirements/%.txt pyproject.toml $(VENV)/.installed-build
	$(PIP) install -q --require-hashes -r $<
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed-dev

setup-serve: $(VENV)/.installed-serve

serve: setup-serve
	$(BIN)/curator serve --port $(PORT) --http-port $(HTTP_PORT) --data-dir $(DATA_DIR)

test: setup
	$(BIN)/pytest -q

proto: setup
	$(BIN)/python scripts/gen_proto.py

lint: setup
	$(BIN)/ruff check curator tests benchmarks scripts
	$(BIN)/ruff format --check curator tests benchmarks scripts
	$(BIN)/mypy curator --ignore-missing-imports --exclude curator/v1

bench: setup
	$(BIN)/python benchmarks/dedup_benchmark.py

# Refresh requirements/*.txt: the newest releases pyproject.toml allows, with the uv pinned in
# requirements/uv.txt. LOCK_FLAGS=--keep keeps each current pin pyproject still allows.
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --require-hashes -r requirements/uv.txt
	$(LOCK_VENV)/bin/python scripts/lock.py --uv $(LOCK_VENV)/bin/uv $(LOCK_FLAGS)

clean:
	rm -rf $(VENV) $(LOCK_VENV) *.egg-info .pytest_cache .ruff_cache
