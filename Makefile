# Every target sets itself up on a fresh machine: a venv in .venv, torch's CPU wheel first
# (so nothing pulls the CUDA build), the project in editable mode, then the pinned npm toolchain
# (solc-js, OpenZeppelin Contracts, anvil).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
AIGC   := $(VENV)/bin/aigc
PYTEST_ARGS ?=

.PHONY: install test demo lint contracts bench-gas clean

$(VENV)/.stamp-torch:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	touch $@

$(VENV)/.stamp-py: $(VENV)/.stamp-torch pyproject.toml
	$(PIP) install -q -e ".[dev]"
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.stamp-py node_modules/.stamp

test: install
	$(VENV)/bin/pytest -q -n 2 --dist worksteal --durations=25 $(PYTEST_ARGS)

demo: install
	$(AIGC) demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check ledger services marketplace_api generators aigc_cli tests
	$(VENV)/bin/mypy

contracts: install
	$(AIGC) contracts build

bench-gas: install
	$(AIGC) bench gas

clean:
	rm -rf $(VENV) node_modules .aigc .pytest_cache .mypy_cache .ruff_cache
