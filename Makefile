# Two commands on a fresh machine:  make demo   |   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test fuzz check compile bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/ledger demo

test: setup fuzz
	$(BIN)/ruff check ledger tests scripts/bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Invariant fuzzing of the contracts (tests/invariant/foundry.toml; FOUNDRY_PROFILE=deep for a long run).
fuzz: node_modules/.installed
	cd tests/invariant && ../../node_modules/.bin/forge test

check: setup
	$(BIN)/ruff check ledger tests scripts/bench
	$(BIN)/mypy
	$(BIN)/python scripts/compile --check

compile: setup
	$(BIN)/python scripts/compile

bench: setup
	$(BIN)/python scripts/bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
