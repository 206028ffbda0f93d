# carepair: `make run` starts the whole system, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test test-unit bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

## run: install, then start NATS and every service with a demo county (Ctrl-C stops all)
run: $(VENV)/.installed
	$(BIN)/carepair up --demo

## test: install with test extras, then run unit, contract, integration and end-to-end tests
test: $(VENV)/.installed
	$(BIN)/pytest

## test-unit: the pure tiers only (no server, no process), without the slow property runs: seconds
test-unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit -m "not slow" -q

## bench: the benchmarks of docs/performance.md (needs PostgreSQL; see that page): the store,
## then pairing at scale (an import, suggestions, accepting them, a county loaded in bulk and its reads;
## the province: python -m bench.reading --scale province --load)
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench
	$(BIN)/python -m bench.importing --subjects 5000 --cadres 5000
	$(BIN)/python -m bench.suggesting
	$(BIN)/python -m bench.accepting
	$(BIN)/python -m bench.reading --scale county --load

## lint: ruff and mypy
lint: $(VENV)/.installed
	$(BIN)/ruff check carepair shared services tests bench
	$(BIN)/mypy carepair shared services

clean:
	rm -rf $(VENV) var .pytest_cache
