# The two commands of README.rst (make demo, make test), and make lint, make docs,
# make bench, make wheel (the wheel README's lab-PC install puts into
# /opt/pyexplabsys-logger).
#
# Each runs in a virtual environment in the checkout, .venv, made from $(PYTHON) and
# remade when that interpreter changes. The project and requirements.txt are installed
# into it again only when requirements.txt or pyproject.toml changed (the stamp file).
# A virtual environment is what lets this work on a Python whose packages the system
# manages (PEP 668: Debian's /usr/bin/python3 refuses pip outside one).
PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The demo's live page: port 0 picks a free one (its address is printed).
DEMO_HTTP ?= 127.0.0.1:0
DEMO_SECONDS ?= 60
# Where make docs writes the HTML (build/ is git-ignored).
DOCS_BUILD ?= build/docs

# The interpreter .venv must come from, and the one it came from (pyvenv.cfg).
BASE_PYTHON := $(shell $(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
VENV_BASE := $(shell sed -n 's/^executable = //p' $(VENV)/pyvenv.cfg 2>/dev/null)
ifneq ($(BASE_PYTHON),$(VENV_BASE))
.PHONY: $(VENV_PYTHON)
endif

.PHONY: install demo test lint docs bench wheel

install: $(STAMP)

# python3 -m venv fails on Debian until python3-venv is installed (it leaves a .venv
# without pip behind); install it when we are root and have apt-get, then try again.
$(VENV_PYTHON):
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (set PYTHON=...)" >&2; exit 1; }
	@echo "Creating $(VENV) from $(PYTHON) ($(BASE_PYTHON))"
	@rm -rf $(VENV)
	@if ! $(PYTHON) -m venv $(VENV); then \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	        echo "make: '$(PYTHON) -m venv' failed; install the venv module (Debian, Ubuntu:" \
	             "sudo apt-get install python3-venv) and run make again" >&2; \
	        exit 1; \
	    fi; \
	    echo "Installing Debian's python3-venv with apt-get"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q python3-venv \
	        || { apt-get update -q && apt-get install -y -q python3-venv; } || exit 1; \
	    $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	fi

$(STAMP): requirements.txt pyproject.toml $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .
	@touch $@

demo: install
	$(VENV_PYTHON) -m PyExpLabSys.service.cli demo --seconds $(DEMO_SECONDS) --http $(DEMO_HTTP)

test: lint docs
	$(VENV_PYTHON) -m pytest

# The reference under docs/, built by Sphinx into build/docs/html (git-ignored). Warnings
# are errors; -E reads every page each time, so a warning of an unchanged page is not
# hidden by the previous build. The >>> examples of docs/*.rst run in make test's pytest.
docs: install
	$(VENV_PYTHON) -m sphinx -W --keep-going -E -q -b html docs $(DOCS_BUILD)/html

# All checks run; the target fails when any of them does. The last one: a
# "type: ignore" must say why, in a comment after it.
lint: install
	@status=0; \
	for check in "ruff check ." "ruff format --check ." "mypy"; do \
	    echo "$(VENV)/bin/$$check"; \
	    $(VENV)/bin/$$check || status=1; \
	done; \
	echo "type: ignore with a reason"; \
	if grep -rnE --include='*.py' 'type: ignore(\[[a-z, -]+\])?[[:space:]]*$$' PyExpLabSys benchmarks tests; then \
	    echo "a type: ignore above has no reason (# type: ignore[code]  # why)"; status=1; \
	fi; \
	exit $$status

bench: install
	$(VENV_PYTHON) benchmarks/throughput.py

# Only the environment's pip is needed (it builds in isolation); the old wheels go first
# so that dist/ holds one, the one README's install line picks up.
wheel: $(VENV_PYTHON)
	@rm -f dist/pyexplabsys_logger-*.whl
	$(VENV_PYTHON) -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir dist .
	@ls dist/pyexplabsys_logger-*.whl
