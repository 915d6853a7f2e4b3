# Two commands a new user needs: `make demo` and `make test`. Both build .venv once (idempotent).
# TORCH_SPEC is pinned so pip takes the CPU wheel; users with GPUs may override it,
# e.g. `make test TORCH_SPEC='torch==2.5.1 --index-url https://download.pytorch.org/whl/cu124'`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.seqlab-installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/seqlab demo

test: $(STAMP)
	$(VENV)/bin/ruff check seqlab tests benchmarks
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check seqlab tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
