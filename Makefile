# Two commands for a fresh machine: `make demo` and `make test`.
# Both make .venv with the standard venv module, so they work without root.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: test demo lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

test: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pytest

demo: $(PY)
	$(PY) -m pip install --quiet -e '.[viz,examples]'
	$(VENV)/bin/autograd-mini demo

lint: $(PY)
	$(PY) -m pip install --quiet -e '.[test,dev]'
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy autograd_mini

bench: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) autograd_mini_out .pytest_cache .hypothesis
