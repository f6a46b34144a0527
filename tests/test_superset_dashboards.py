"""Superset serves the PulseOps dashboards from a populated warehouse, and they draw without errors.

Needs two fixtures from the suite's conftest: `warehouse_url` (plain postgresql:// URL of a
warehouse whose marts are built; session or module scope, since Superset starts once per module)
and `artefacts_dir` (folder that keeps the screenshots).
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from tests.superset_support import (
    SupersetApi,
    check_dashboard_in_browser,
    run_bootstrap,
    start_superset,
)

pytestmark = pytest.mark.slow

DASHBOARDS = {"msp-portfolio": "MSP Client Portfolio", "it-spend": "IT Software Spend"}
RESOURCES = ("database", "dataset", "chart", "dashboard")


@pytest.fixture(scope="module")
def superset(warehouse_url, tmp_path_factory):
    server = start_superset(tmp_path_factory.mktemp("superset-state"), warehouse_url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(superset) -> SupersetApi:
    return SupersetApi.for_server(superset)


def test_superset_is_served_by_its_own_process(superset, api):
    assert superset.process.poll() is None
    assert requests.get(f"{superset.url}/health", timeout=10).text.strip() == "OK"
    assert api.get("/api/v1/me/")["result"]["username"] == superset.admin_username


def test_each_dashboard_and_the_warehouse_exist_exactly_once(api):
    for slug, title in DASHBOARDS.items():
        found = api.list("dashboard", slug=slug)
        assert [d["dashboard_title"] for d in found] == [title]
    assert len(api.list("database", database_name="PulseOps Warehouse")) == 1


def test_warehouse_connection_is_the_one_given_at_import(api, warehouse_url):
    (database,) = api.list("database", database_name="PulseOps Warehouse")
    uri = urlsplit(api.get(f"/api/v1/database/{database['id']}/connection")["result"]["sqlalchemy_uri"])
    expected = urlsplit(warehouse_url)
    assert uri.scheme == "postgresql+psycopg2"
    assert (uri.hostname, uri.port, uri.path) == (expected.hostname, expected.port, expected.path)


def test_bootstrapping_again_creates_no_duplicates(superset, api, warehouse_url):
    before = {resource: _uuids_by_id(api, resource) for resource in RESOURCES}
    run_bootstrap(superset.state_dir, warehouse_url)
    after = {resource: _uuids_by_id(api, resource) for resource in RESOURCES}
    assert after == before


@pytest.mark.parametrize("slug", DASHBOARDS)
def test_every_chart_returns_rows_from_its_saved_query(api, slug):
    charts = api.dashboard_charts(slug)
    assert len(charts) >= 2
    empty = [chart["slice_name"] for chart in charts if not api.chart_data(chart["id"])]
    assert not empty, f"charts without rows on {slug}: {empty}"


@pytest.mark.parametrize("slug", DASHBOARDS)
def test_dashboard_draws_every_chart_in_the_browser(superset, api, artefacts_dir, slug):
    screenshot = artefacts_dir / f"superset-{slug}.png"
    seen = check_dashboard_in_browser(
        superset.url, superset.admin_username, superset.admin_password, slug, screenshot
    )
    assert seen.chart_errors == {}
    assert seen.empty_charts == []
    assert sorted(c.name for c in seen.charts) == sorted(c["slice_name"] for c in api.dashboard_charts(slug))
    assert screenshot.stat().st_size > 20_000  # a blank page is a few kB


def _uuids_by_id(api: SupersetApi, resource: str) -> dict[int, str]:
    return {row["id"]: row.get("uuid") for row in api.list(resource)}
