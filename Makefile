# The commands the docs name: test, demo, bench, lint, lambda, docs; and check, the inner loop.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# How many tests run at once (pytest-xdist): one worker per core (auto) for the in-process suites;
# half as many again for make pytest, whose e2e tests spend much of their time waiting (on hung
# endpoints, sleeps, retries) rather than on a core: on 2 cores, 3 workers take 200 s, 2 take 265.
WORKERS ?= auto
E2E_WORKERS ?= $(shell echo $$(( ($$(nproc) * 3 + 1) / 2 )))

# The oldest Python the tool supports; the pyenv path is where this project's machines keep it.
PYTHON310 ?= $(shell for p in /root/.pyenv/versions/3.10*/bin/python3.10 python3.10; do \
	"$$p" -c '' 2>/dev/null && { echo "$$p"; break; }; done)

FAKETIME_LIB := /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

.PHONY: test check demo bench lint lambda pytest test-py310 test-deploy deploy-tools docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python 3.10 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Everything, as CI runs it (.ci/run). The Python 3.10 run goes alongside the main one, on the cores
# the e2e tests leave idle while they wait (each run's output is shown whole when it ends); the
# deploy tests run alone, last.
test: lint deploy-tools
	$(MAKE) --no-print-directory -j2 --output-sync=target pytest test-py310
	$(MAKE) --no-print-directory test-deploy

# The inner loop, under a minute: lint, then the unit and in-process (moto) tests on every core.
check: lint
	$(PY) -m pytest -n $(WORKERS) tests/unit tests/integration

# Everything but the deploy tests, on E2E_WORKERS workers, each with a moto server of its own; a
# worker that runs out of tests takes some of another's (worksteal: their lengths differ a lot).
pytest: $(VENV)/.installed
	$(PY) -m pytest -n $(E2E_WORKERS) --dist worksteal

# The unit and in-process suites again on Python 3.10 (Ubuntu 22.04's python3).
test-py310:
ifeq ($(PYTHON310),)
	@echo "test-py310: NOT RUN: no python3.10 on this machine"
else
	test -x .venv310/bin/python || $(PYTHON310) -m venv .venv310
	.venv310/bin/python -m pip install --quiet -e . pytest pytest-timeout pytest-xdist hypothesis \
	  'moto[server]' prometheus-client
	.venv310/bin/python -m pytest -p no:cacheprovider -n $(WORKERS) tests/unit tests/integration
endif

# systemd-analyze and libseccomp check the units (tests/deploy); Debian's systemd package has both.
# libfaketime (Debian's faketime) runs a host whose clock is off (tests/e2e).
deploy-tools:
	command -v systemd-analyze >/dev/null && test -e $(FAKETIME_LIB) || { apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends systemd libseccomp2 faketime; }

# Applies ansible/ to this host as root (a disposable machine, like CI's): installs, twice.
test-deploy: $(VENV)/.installed
	$(PY) -m pytest -s -m deploy tests/deploy

# ruff; the package's layers (import-linter, contracts in pyproject.toml); radon's measure of
# it: no function over cyclomatic complexity 15, no module over 450 lines; cfn-lint on the
# CloudFormation template.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint cloudformation/autoscaler-pauser.yaml
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/radon cc --show-complexity --min C autoscaler_pauser \
	  | awk -F'[()]' '/ - [C-F] \(/ && $$2 > 15 {print "complexity over 15:", $$0; bad = 1} END {exit bad}'
	wc -l $$(find autoscaler_pauser -name '*.py') \
	  | awk '$$2 != "total" && $$1 > 450 {print "over 450 lines:", $$0; bad = 1} END {exit bad}'

# The zip that cloudformation/autoscaler-pauser.yaml deploys: the package and its dependencies,
# installed for the function's runtime (python3.12, x86_64).
LAMBDA_ZIP ?= dist/autoscaler-pauser-lambda.zip
lambda: $(VENV)/.installed
	$(PY) cloudformation/build_lambda.py $(LAMBDA_ZIP)

demo: $(VENV)/.installed
	$(PY) demo.py

bench: $(VENV)/.installed
	$(PY) -m benchmarks.bench_reconcile
	$(PY) -m benchmarks.bench_scale
	$(PY) -m benchmarks.bench_fleet

# Remake every file made from the key table (DERIVED in autoscaler_pauser/docs.py):
# config.example.yaml, the tables of docs/configuration.md and docs/hosts.md, the Ansible role's
# defaults, argument specs and config template.
docs: $(VENV)/.installed
	$(PY) -c 'from autoscaler_pauser import docs; print("\n".join(docs.remake(".")) or "unchanged")'

clean:
	rm -rf $(VENV) .venv310 .pytest_cache .ruff_cache .hypothesis *.egg-info dist
