"""Stand-in fixtures for running the Superset tests alone, against a warehouse built by hand.

    PULSEOPS_DEV_WAREHOUSE_URL=postgresql://... .venv/bin/python -m pytest --noconftest \
        -p tests._dev_superset_conftest tests/test_superset_dashboards.py

The suite's own conftest provides the real `warehouse_url` (from the pipeline) and `artefacts_dir`.
"""
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def warehouse_url() -> str:
    url = os.environ.get("PULSEOPS_DEV_WAREHOUSE_URL")
    if not url:
        pytest.skip("set PULSEOPS_DEV_WAREHOUSE_URL to a warehouse that has the marts")
    return url


@pytest.fixture(scope="session")
def artefacts_dir() -> Path:
    folder = Path(__file__).resolve().parents[1] / "test-artefacts"
    folder.mkdir(exist_ok=True)
    return folder
