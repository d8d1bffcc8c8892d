# Ringtrail: `make demo` runs the product, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest serve clean chromium

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

# Browser tests drive Debian's Chromium (never a downloaded browser); install it when we can.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || echo "chromium missing: browser tests will be skipped (apt-get install chromium)"

pytest: $(STAMP) chromium
	RINGTRAIL_VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) var/test .mypy_cache .ruff_cache .pytest_cache
