# The commands the README names: test, demo, bench, lint.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test demo bench lint pytest test-deploy docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python 3.10 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

test: lint pytest test-deploy

pytest: $(VENV)/.installed
	$(PY) -m pytest

# Applies ansible/ to this host as root (a disposable machine, like CI's): installs, twice.
test-deploy: $(VENV)/.installed
	$(PY) -m pytest -s -m deploy tests/test_deploy.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: $(VENV)/.installed
	$(PY) demo.py

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_reconcile.py

# Remake config.example.yaml from the key table in reconcile.py.
docs: $(VENV)/.installed
	$(PY) -c 'import reconcile; print(reconcile.example_yaml(), end="")' > config.example.yaml
	@echo "README table:"; $(PY) -c 'import reconcile; print(reconcile.config_table())'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
