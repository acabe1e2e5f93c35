# The commands the README names: test, demo, bench, lint.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test demo bench lint pytest docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python 3.10 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

test: lint pytest

pytest: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: $(VENV)/.installed
	$(PY) demo.py

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_reconcile.py

# Remake config.example.yaml and the README's table of keys from the key table in reconcile.py.
docs: $(VENV)/.installed
	$(PY) -c 'import reconcile; print(reconcile.example_yaml(), end="")' > config.example.yaml
	$(PY) -c 'import reconcile, pathlib; p = pathlib.Path("README.md"); \
	  p.write_text(reconcile.readme_with_table(p.read_text()))'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
