# Two commands matter: `make serve` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 50051
HTTP_PORT ?= 8080
DATA_DIR ?= ./curator-data

.PHONY: serve test setup proto lint bench clean

$(BIN)/curator: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/curator

serve: setup
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

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
