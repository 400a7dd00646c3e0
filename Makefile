# Two entry points: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# What each set of extras brings, for the line that says what is being installed.
WHAT_demo := usd-core, numpy, Pillow and scikit-learn for the demo
WHAT_dev := the demo's packages plus pytest, pytest-xdist, hypothesis, ruff, mypy, moto and psycopg for the tests

.PHONY: demo test bench clean

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

test: $(BIN)/.installed-dev
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist loadscope -m "not serial"
	$(BIN)/pytest -m serial

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
