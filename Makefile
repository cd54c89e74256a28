# mognad: every target sets up the environment first and is safe to run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MOGNAD := $(VENV)/bin/mognad
STAMP := $(VENV)/.setup-done
SEED ?= 20240501
DEMO_DATA := data/demo
DEMO_STUDY := data/demo/study
DEMO_ROUND ?= 2024
JOBS ?= 2

.PHONY: setup demo synth study scores case-studies test lint lab bench clean distclean lock help

help:
	@echo "make demo          - set up, synthesise the demo study, ingest it and write every report:"
	@echo "                     reports/2024/ (one per organisation, index.html), reports/national/,"
	@echo "                     reports/dios/ (6 to 7 minutes on 2 cores)"
	@echo "make case-studies  - the case-study reports into reports/cases/"
	@echo "make test          - set up and run the test suite (ruff + pytest, doctests, notebooks)"
	@echo "make lint          - ruff only"
	@echo "make lab           - JupyterLab on 127.0.0.1 with the demo study, opening the tutorial"
	@echo "                     notebooks/00_getting_started.ipynb"
	@echo "make bench         - run the benchmarks in benchmarks/"
	@echo "make lock          - regenerate requirements.lock from pyproject.toml"
	@echo "make clean         - remove generated data (data/demo), every generated report (reports/)"
	@echo "                     and caches; keeps the virtual environment"
	@echo "make distclean     - clean, and remove the virtual environment too"

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: chromium not installed: PDF reports unavailable"
	command -v pdftotext >/dev/null || (apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null) || echo "warning: poppler-utils not installed: the PDF tests are skipped"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	-test -d .git && $(VENV)/bin/nbstripout --install
	touch $(STAMP)

synth: $(STAMP)
	$(MOGNAD) synth --seed $(SEED) --out $(DEMO_DATA)

study: synth
	$(MOGNAD) init $(DEMO_STUDY) --exist-ok
	$(MOGNAD) ingest $(DEMO_DATA)/inputs --study $(DEMO_STUDY)
	$(MOGNAD) ingest $(DEMO_DATA)/cases --study $(DEMO_STUDY)
	$(MOGNAD) info --study $(DEMO_STUDY)

scores: study
	mkdir -p reports/demo
	$(MOGNAD) score --study $(DEMO_STUDY) --out reports/demo/scores.csv

# Every step longer than a few seconds shows a progress bar: the batches one over their reports,
# the single reports one over their notebook's cells.
demo: scores
	$(MOGNAD) batch organisation_report --study $(DEMO_STUDY) --round $(DEMO_ROUND) --all --jobs $(JOBS) --out reports/$(DEMO_ROUND)
	$(MOGNAD) report national_status --study $(DEMO_STUDY) --round $(DEMO_ROUND) --out reports/national
	$(MOGNAD) report longitudinal_study --study $(DEMO_STUDY) --round $(DEMO_ROUND) --out reports/national
	$(MOGNAD) batch dios_report --study $(DEMO_STUDY) --round $(DEMO_ROUND) --all --jobs $(JOBS) --out reports/dios
	$(MOGNAD) report dios_national --study $(DEMO_STUDY) --round $(DEMO_ROUND) --out reports/dios
	@echo
	@echo "Demo ready: scores in reports/demo/scores.csv, reports in reports/$(DEMO_ROUND)/ (open reports/$(DEMO_ROUND)/index.html), national reports in reports/national/"

case-studies: study
	$(MOGNAD) cases --study $(DEMO_STUDY) --out reports/cases

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

test: $(STAMP) lint
	$(VENV)/bin/python -m pytest -n $(JOBS) tests src/mognad

lab: study
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser --allow-root --notebook-dir=. notebooks/00_getting_started.ipynb

bench: $(STAMP)
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/scoring.py
	$(PY) benchmarks/batch.py

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e ".[dev]"
	( echo "# Pinned lock file for mognad (pip freeze of a fresh venv). Regenerate with: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^mognad' ) > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

clean:
	rm -rf data/demo .pytest_cache .ruff_cache build dist
	test ! -d reports || find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
