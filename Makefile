# The two commands of README.rst.
PYTHON ?= python3
# The demo's live page: port 0 picks a free one (its address is printed).
DEMO_HTTP ?= 127.0.0.1:0
DEMO_SECONDS ?= 60

.PHONY: install demo test bench

install:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .

demo: install
	$(PYTHON) -m PyExpLabSys.service.cli demo --seconds $(DEMO_SECONDS) --http $(DEMO_HTTP)

test: install
	$(PYTHON) -m pytest

bench: install
	$(PYTHON) benchmarks/throughput.py
