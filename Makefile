# The two commands of README.rst.
PYTHON ?= python3

.PHONY: install demo test bench

install:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .

demo: install
	$(PYTHON) -m PyExpLabSys.service.cli demo --seconds 10

test: install
	$(PYTHON) -m pytest

bench: install
	$(PYTHON) benchmarks/throughput.py
