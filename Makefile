SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
PYTEST_ARGS ?=
# Test processes (pytest-xdist; each test file stays in one process, for its module fixtures).
TEST_WORKERS ?= 2

.PHONY: deps sysdeps test fuzz demo bench clean

sysdeps:
	@bash scripts/sysdeps.sh

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,postgres]'
	@touch $@

deps: sysdeps $(STAMP)

test: deps
	@eval "$$(bash scripts/pg-up.sh)"; trap 'bash scripts/pg-down.sh' EXIT; \
	  $(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

# Fuzzing (tests/fuzz): 10,000 inputs per target; prints per target the inputs and crashes.
fuzz: deps
	HYPOTHESIS_PROFILE=fuzz $(VENV)/bin/pytest -q -p no:xdist tests/fuzz $(PYTEST_ARGS)

demo: deps
	$(VENV)/bin/sandbox demo

bench: deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) sandbox-data
