# PulseOps: `make run` brings everything up on embedded defaults; `make check` is the fast tier (lint and
# the tests that need no database, server or browser); `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
SUPERSET_VENV := .venv-superset
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

.PHONY: eval install manifest run check check-sql check-unit-models check-unit-rest lint test bench docs browser services lock clean infra-lint superset-export \
	definitions-snapshot

install: $(VENV)/.installed $(SUPERSET_VENV)/.installed manifest

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync -q --python $(VENV)/bin/python requirements.lock
	$(UV) pip install -q --python $(VENV)/bin/python --no-deps -e .
	touch $@

# Superset lives in its own environment: it needs SQLAlchemy 1.4 and pandas 2.1.
$(SUPERSET_VENV)/.installed: superset_config/requirements.lock $(VENV)/.installed
	test -x $(SUPERSET_VENV)/bin/python || $(PYTHON) -m venv $(SUPERSET_VENV)
	$(UV) pip sync -q --python $(SUPERSET_VENV)/bin/python superset_config/requirements.lock
	touch $@

# The dbt manifest is built, never committed; Dagster reads it to build the dbt assets.
manifest: $(VENV)/.installed
	cd dbt_project && ../$(VENV)/bin/dbt parse --quiet --profiles-dir . --project-dir .

run: install
	$(VENV)/bin/pulseops up

# Debian's chromium drives the browser tests (never a downloaded browser); chromedriver lets Superset's
# report worker render with it; the report test reads the PDFs back with poppler and tesseract (OCR).
BROWSER_PACKAGES := chromium chromium-driver poppler-utils tesseract-ocr
browser:
	(command -v chromium && command -v chromedriver && command -v pdftoppm && command -v tesseract) >/dev/null || \
	  (apt-get update -q && apt-get install -y -q $(BROWSER_PACKAGES))

# The external-database tests use the PostgreSQL server this machine runs on 127.0.0.1:5432.
services:
	pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start

test: install browser services lint
	$(VENV)/bin/python -m pytest

# Python lint and format (settings in pyproject.toml); part of both `make check` and `make test`.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The fast tier: Python lint and format, the dbt project parses, SQL style and the tests marked `unit`
# (no database, server or browser; README "Tests"), the last ones side by side. CI runs `make test`.
check: lint
	cd dbt_project && ../$(VENV)/bin/dbt parse --quiet --profiles-dir . --project-dir .
	$(MAKE) --no-print-directory -j3 --output-sync=target check-sql check-unit-models check-unit-rest

# sqlfluff's dbt templater asks a database whether incremental tables exist: a throwaway embedded one.
check-sql:
	$(VENV)/bin/python -m pulseops_cli.lint_sql

# The unit tests in two halves, so both cores work: the model tests are the longest.
UNIT_MODEL_TESTS := tests/test_ml_*.py tests/test_anomaly_*.py
check-unit-models:
	$(VENV)/bin/python -m pytest -m unit -q $(wildcard $(UNIT_MODEL_TESTS))

check-unit-rest:
	$(VENV)/bin/python -m pytest -m unit -q $(addprefix --ignore=,$(wildcard $(UNIT_MODEL_TESTS)))

# After adding or removing an asset, check, job, schedule or sensor: the snapshot tests/test_definitions.py
# compares with (commit the file with the change).
definitions-snapshot: manifest
	$(VENV)/bin/python -m tests.definitions_snapshot

# The AWS template and container files, checked offline (cfn-lint and the project's own rules).
infra-lint: $(VENV)/.installed
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(VENV)/bin/python -m pytest -q tests/test_infra_template.py

# Speed and memory figures, each against a baseline measured in the same run -> BENCHMARKS.md.
bench: install
	$(VENV)/bin/python -m bench.ingest_bench
	$(VENV)/bin/python -m bench.fault_bench
	$(VENV)/bin/python -m bench.dbt_bench
	$(VENV)/bin/python -m bench.superset_bench

# Dashboards edited in a running Superset (`make run`) -> superset_config/assets/, for review and commit.
SUPERSET_URL ?= http://127.0.0.1:$(or $(PULSEOPS_SUPERSET_PORT),8088)
superset-export: $(VENV)/.installed
	$(VENV)/bin/python -m superset_config.export_assets --url $(SUPERSET_URL)

# The dbt docs site (models, columns, lineage) into dbt_project/target; reads the catalog from the
# warehouse (the embedded PostgreSQL unless DATABASE_URL is set).
docs: install
	$(VENV)/bin/python -m pulseops_cli.dbt_docs

# Every model evaluation on demo data -> reports/model_evaluation.md and .json.
eval: install
	$(VENV)/bin/python -m pulseops_cli.evaluate

lock:
	$(UV) pip compile -q pyproject.toml --extra test --python-version 3.11 -o requirements.lock
	$(UV) pip compile -q superset_config/requirements.in --python-version 3.11 -o superset_config/requirements.lock

clean:
	-$(VENV)/bin/pulseops stop
	rm -rf state test-artefacts dbt_project/target dbt_project/logs
