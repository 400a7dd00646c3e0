# Two entry points: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# What each set of extras brings, for the line that says what is being installed.
WHAT_demo := usd-core, numpy, Pillow and scikit-learn for the demo
WHAT_dev := the demo's packages plus pytest, pytest-xdist, hypothesis, ruff, mypy, moto and psycopg for the tests, playwright for the UI's browser tests

.PHONY: demo test ui bench clean

# The web UI (ui/): `npm ci` when the lockfile is newer than ui/node_modules, `npm run build`
# (into the package's server/ui_static/, which the wheel ships) when a source is newer than
# the built index.html.
UI_BUNDLE := src/lineal/server/ui_static/index.html
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/index.html ui/package.json \
	ui/package-lock.json ui/vite.config.ts ui/tsconfig.json

ui/node_modules/.installed: ui/package-lock.json
	@command -v npm >/dev/null || { echo "the web UI needs Node.js 18+ and npm (e.g. apt-get install nodejs npm)"; exit 1; }
	cd ui && npm ci --no-audit --no-fund
	touch $@

$(UI_BUNDLE): ui/node_modules/.installed $(UI_SOURCES)
	cd ui && npm run build

ui: $(UI_BUNDLE)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# One stamp per set of extras (.installed-demo, .installed-dev), so `make demo` then
# `make test` still installs the test tools; pyproject.toml changing reinstalls.
$(BIN)/.installed-%: pyproject.toml | $(BIN)/python
	@echo "Installing lineal[$*] into $(VENV)/: $(WHAT_$*)"
	$(BIN)/python -m pip install -q -e '.[$*]'
	touch $@

demo: $(BIN)/.installed-demo
	$(BIN)/python examples/demo.py

test: $(BIN)/.installed-dev $(UI_BUNDLE)
	cd ui && npm test
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist loadscope -m "not serial" --durations=15
	$(BIN)/pytest -m serial

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache ui/node_modules src/lineal/server/ui_static
