# Two commands for a fresh machine: `make demo` and `make test`.
# Both make .venv with the standard venv module, so they work without root.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: test demo lint bench docs clean

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

# The docs site: every code block on the pages runs while it builds; --strict turns a broken
# link, a failing block or an undocumented public parameter into a failed build. Output: site/
docs: $(PY)
	$(PY) -m pip install --quiet -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

bench: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) autograd_mini_out site .pytest_cache .hypothesis
