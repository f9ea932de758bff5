# ReelGraph developer entry points. `make demo` and `make test` are the README's two
# commands: each sets up everything it needs (venv, Python deps, Neo4j jars) first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install demo test test-unit test-integration lint bench clean-venv

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install reelgraph with dev tools

demo: $(STAMP)  ## the main job, end to end (local Neo4j from jars unless NEO4J_URI is set)
	$(VENV)/bin/engine demo

test: $(STAMP)  ## all tests: unit + integration against a real Neo4j
	$(PY) -m pytest tests

test-unit: $(STAMP)  ## unit tests only (no database)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)  ## integration tests only (real Neo4j)
	$(PY) -m pytest tests/integration

lint: $(STAMP)  ## ruff + mypy
	$(VENV)/bin/ruff check loader engine bench tests
	$(VENV)/bin/mypy

clean-venv:
	rm -rf $(VENV)
