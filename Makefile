# peerlog: one command sets everything up from nothing.
#   make test   virtual environment, install, lint, type check, the whole test suite
#   make demo   virtual environment, install, a demo placement on SQLite
#   make bench  the benchmark suite (BENCH_ARGS="--size large" for the 10x run)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := $(shell find src projections cli web -name '*.py' 2>/dev/null) pyproject.toml
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install test lint typecheck pytest demo bench clean

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# "strict" editable mode maps projections/ and cli/ into the peerlog package
	# for every tool, mypy included.
	$(BIN)/python -m pip install --quiet -e ".[dev]" --config-settings editable_mode=strict
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy -p peerlog
	$(BIN)/mypy tests
	$(BIN)/mypy benchmarks

pytest: install
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck pytest

demo: install
	$(BIN)/peerlog demo

bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
