# Ringtrail: `make demo` runs the product, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

var:
	mkdir -p var

demo: $(STAMP) var
	$(BIN)/ringtrail migrate --noinput
	$(BIN)/ringtrail demo

serve: $(STAMP) var
	$(BIN)/ringtrail migrate --noinput
	$(BIN)/ringtrail serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy ringtrail

pytest: $(STAMP)
	RINGTRAIL_VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) var/test .mypy_cache .ruff_cache .pytest_cache
