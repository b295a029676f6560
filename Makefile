# Two commands on a fresh machine:  make demo   |   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup slither demo test fuzz check compile bench clean

setup: $(VENV)/.installed node_modules/.installed

# constraints.txt fixes every package's version (pyproject.toml gives the ranges), as package-lock.json does for npm.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

# Slither pins an older web3 than the ledger: it gets a virtual environment of its own.
SLITHER_VENV := .venv-slither
$(SLITHER_VENV)/.installed: constraints-slither.txt
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet -c constraints-slither.txt --upgrade pip
	$(SLITHER_VENV)/bin/pip install --quiet -c constraints-slither.txt slither-analyzer
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/ledger demo

test: setup $(SLITHER_VENV)/.installed fuzz
	$(BIN)/ruff check ledger tests scripts/bench scripts/compile scripts/plant-bug scripts/slither-check
	$(BIN)/ruff format --check ledger tests scripts/bench scripts/compile scripts/plant-bug scripts/slither-check
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadscope

# Invariant fuzzing of the contracts (tests/invariant/foundry.toml; FOUNDRY_PROFILE=deep for a long run).
fuzz: node_modules/.installed
	cd tests/invariant && ../../node_modules/.bin/forge test

check: setup
	$(BIN)/ruff check ledger tests scripts/bench scripts/compile scripts/plant-bug scripts/slither-check
	$(BIN)/ruff format --check ledger tests scripts/bench scripts/compile scripts/plant-bug scripts/slither-check
	$(BIN)/mypy
	$(BIN)/python scripts/compile --check

# Slither's report: findings, their triage, and the check on the caller of every write.
slither: setup $(SLITHER_VENV)/.installed
	$(SLITHER_VENV)/bin/python scripts/slither-check

compile: setup
	$(BIN)/python scripts/compile

bench: setup
	$(BIN)/python scripts/bench

clean:
	rm -rf $(VENV) $(SLITHER_VENV) build node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
