"""Superset serves the PulseOps dashboards from a populated warehouse: each role sees what it may
and nothing more, every chart draws in a real browser, and the KPI tiles show the warehouse's
numbers. Superset starts once for the session (~40 s, ~700 MB), shared with the other modules that
read these dashboards.

Needs fixtures from the suite's conftest: `superset` and `api` (Superset over `warehouse_url`, a
warehouse the real pipeline filled, and an admin session to it), `analyst_password` and
`artefacts_dir` (folder that keeps the screenshots).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from superset_config import access
from superset_config.asset_bundle import ASSETS_DIR
from superset_config.client_logins import add_client_login
from superset_config.export_assets import export
from superset_config.rest import SupersetClient
from tests.superset_support import (
    SupersetApi,
    check_dashboard_in_browser,
    run_bootstrap,
)
from tests.support import query, scalar, throwaway_database

pytestmark = pytest.mark.slow

TITLES = {
    access.MSP_DASHBOARD: "MSP Client Portfolio",
    access.IT_DASHBOARD: "IT Software Spend",
    access.CLIENT_DASHBOARD: "Client Review",
    access.DATA_HEALTH_DASHBOARD: "Data Health",
}
FILTERS = {
    access.MSP_DASHBOARD: ["Segment", "Region", "Period"],
    access.IT_DASHBOARD: ["Department"],
    access.CLIENT_DASHBOARD: ["Client"],
    access.DATA_HEALTH_DASHBOARD: [],
}
RESOURCES = ("database", "dataset", "chart", "dashboard")
ADMIN = "admin"
SEES = {
    ADMIN: set(access.DASHBOARDS),
    **{role.name: set(role.dashboards) for role in access.ROLES},
}
# Charts also saved on their own, to be looked at closely (marks drawn over lines).
CLOSE_UPS = {access.IT_DASHBOARD: ["Daily spend with anomalies"]}
# Listings of failures: empty while the pipeline is healthy, as it is here.
MAY_BE_EMPTY = {"Failed check details", "Quarantined files"}


@pytest.fixture(scope="module")
def client(warehouse_url) -> tuple[str, str]:
    """The client whose login is tested: the biggest, so never the first one in a list."""
    return query(
        warehouse_url, "select client_id, client_name from marts.clients order by current_mrr desc, client_id limit 1"
    )[0]


@pytest.fixture(scope="module")
def logins(superset, api, client, warehouse_url) -> dict[str, tuple[str, str]]:
    """A user with a generated password for each role; the client viewer made the operator's way."""
    users = {ADMIN: (superset.admin_username, superset.admin_password)}
    for role in access.ROLES:
        if role.name != access.CLIENT_VIEWER:
            username = f"test-{role.name.lower().replace(' ', '-')}"
            users[role.name] = (username, api.add_user(username, role.name))
    operator = SupersetClient(superset.url, superset.admin_username, superset.admin_password)
    login = add_client_login(
        operator, warehouse_url, superset.client_login_key, client[0], "test-client-viewer", "client@pulseops.invalid"
    )
    users[access.CLIENT_VIEWER] = (login.username, login.password)
    # a client viewer nobody has given a client yet
    users["no client"] = (
        "test-client-without-client",
        api.add_user("test-client-without-client", access.CLIENT_VIEWER),
    )
    return users


def _session(superset, logins, role: str) -> SupersetApi:
    return SupersetApi(superset.url, *logins[role])


# ------------------------------------------------------------------ the instance and its assets
def test_superset_is_served_by_its_own_process(superset, api):
    assert superset.process.poll() is None
    assert requests.get(f"{superset.url}/health", timeout=10).text.strip() == "OK"
    assert api.get("/api/v1/me/")["result"]["username"] == superset.admin_username


def test_only_the_pulseops_dashboards_and_connections_exist_once(api):
    assert sorted((d["slug"], d["dashboard_title"]) for d in api.list("dashboard")) == sorted(TITLES.items())
    assert sorted(d["database_name"] for d in api.list("database")) == sorted(
        [access.WAREHOUSE_DATABASE, access.ANALYST_DATABASE]
    ), "no example data, nothing else"


def test_dashboards_have_their_native_filters(api):
    for slug, names in FILTERS.items():
        metadata = yaml.safe_load(api.get(f"/api/v1/dashboard/{slug}")["result"]["json_metadata"])
        assert [f["name"] for f in metadata["native_filter_configuration"]] == names


def test_connections_read_the_warehouse_given_as_the_read_only_analyst(api, warehouse_url):
    expected = urlsplit(warehouse_url)
    for name, in_sql_lab in ((access.WAREHOUSE_DATABASE, False), (access.ANALYST_DATABASE, True)):
        (database,) = api.list("database", database_name=name)
        details = api.get(f"/api/v1/database/{database['id']}/connection")["result"]
        uri = urlsplit(details["sqlalchemy_uri"])
        assert uri.scheme == "postgresql+psycopg2"
        assert (uri.hostname, uri.port, uri.path) == (expected.hostname, expected.port, expected.path)
        assert uri.username == "pulseops_analyst"
        assert details["expose_in_sqllab"] is in_sql_lab


def test_bootstrapping_again_changes_and_duplicates_nothing(superset, api, warehouse_url, analyst_password):
    def state():
        return (
            {resource: _uuids_by_id(api, resource) for resource in RESOURCES},
            sorted((r["name"], r["id"]) for r in api.get("/api/v1/security/roles/", q="(page_size:100)")["result"]),
            sorted((f["name"], f["clause"], len(f["tables"])) for f in api.list("rowlevelsecurity")),
            {
                slug: sorted(r["name"] for r in api.get(f"/api/v1/dashboard/{slug}")["result"]["roles"])
                for slug in access.DASHBOARDS
            },
        )

    before = state()
    run_bootstrap(superset.state_dir, warehouse_url, analyst_password)
    assert state() == before


@pytest.mark.parametrize("slug", access.DASHBOARDS)
def test_every_chart_returns_rows_from_its_saved_query(api, slug):
    charts = api.dashboard_charts(slug)
    assert len(charts) >= 4
    empty = [c["slice_name"] for c in charts if c["slice_name"] not in MAY_BE_EMPTY and not api.chart_data(c["id"])]
    assert not empty, f"charts without rows on {slug}: {empty}"


def test_export_imports_into_a_fresh_postgres_metadata_database(superset, warehouse_url, analyst_password, tmp_path):
    exported = tmp_path / "assets"
    export(SupersetClient(superset.url, superset.admin_username, superset.admin_password), exported)
    # what the running instance exports is what the repository holds, file for file
    assert _asset_files(exported) == _asset_files(ASSETS_DIR)
    with throwaway_database("superset_metadata") as metadata_url:
        env = {
            "SUPERSET_METADATA_URL": metadata_url.replace("postgresql://", "postgresql+psycopg2://", 1),
            "PULSEOPS_SUPERSET_ASSETS": str(exported),
        }
        run_bootstrap(tmp_path / "state", warehouse_url, analyst_password, extra_env=env)
        assert _metadata_index(metadata_url) == _yaml_index(ASSETS_DIR)
        roles = {name for (name,) in query(metadata_url, "select name from ab_role")}
        assert {role.name for role in access.ROLES} <= roles


# ------------------------------------------------------------------ roles through the REST API
@pytest.mark.parametrize("role", [ADMIN, *(r.name for r in access.ROLES)])
def test_each_role_lists_and_opens_only_its_dashboards(superset, logins, role):
    session = _session(superset, logins, role)
    assert {d["slug"] for d in session.list("dashboard")} == SEES[role]
    for slug in access.DASHBOARDS:
        status = session.session.get(f"{session.base_url}/api/v1/dashboard/{slug}", timeout=30).status_code
        assert (status == 200) == (slug in SEES[role]), f"{role} -> {slug}: {status}"


def test_msp_analyst_cannot_open_the_it_dashboard_or_read_its_charts(superset, api, logins):
    session = _session(superset, logins, access.MSP_ANALYST)
    assert session.session.get(f"{session.base_url}/api/v1/dashboard/{access.IT_DASHBOARD}").status_code == 404
    for chart in api.dashboard_charts(access.IT_DASHBOARD):
        response = session.session.get(f"{session.base_url}/api/v1/chart/{chart['id']}/data/", timeout=60)
        assert response.status_code in (403, 404), chart["slice_name"]


def test_client_viewer_reads_only_its_own_clients_rows(superset, api, logins, client, warehouse_url):
    client_id, client_name = client
    session = _session(superset, logins, access.CLIENT_VIEWER)
    charts = {c["slice_name"]: c["id"] for c in api.dashboard_charts(access.CLIENT_DASHBOARD)}
    profile = session.chart_data(charts["Client"])
    assert [row["client_name"] for row in profile] == [client_name]
    services = session.chart_data(charts["Services and licences"])
    assert sorted((r["service"], float(r["units"])) for r in services) == sorted(
        (service, float(units))
        for service, units in query(
            warehouse_url, "select agreement_type, units from marts.agreements where client_id = %s", (client_id,)
        )
    )
    assert len(api.chart_data(charts["Services and licences"])) > len(services), "admin sees every client"
    tickets = session.chart_data(charts["Tickets per month"])
    assert sum(row["tickets"] for row in tickets) == scalar(
        warehouse_url, "select sum(tickets_opened) from marts.client_monthly where client_id = %s", (client_id,)
    )
    (mrr,) = session.chart_data(charts["Monthly recurring revenue"])
    assert mrr["current_mrr"] == pytest.approx(
        float(scalar(warehouse_url, "select current_mrr from marts.clients where client_id = %s", (client_id,)))
    )
    # nothing else is readable: the portfolio's charts are refused
    for chart in api.dashboard_charts(access.MSP_DASHBOARD)[:3]:
        response = session.session.get(f"{session.base_url}/api/v1/chart/{chart['id']}/data/", timeout=60)
        assert response.status_code in (403, 404), chart["slice_name"]


def test_client_viewer_without_a_client_sees_no_rows(superset, api, logins):
    """Superset's row filter gives it no rows, and with no warehouse login of its own its queries fail."""
    session = _session(superset, logins, "no client")
    for chart in api.dashboard_charts(access.CLIENT_DASHBOARD):
        response = session.session.get(f"{session.base_url}/api/v1/chart/{chart['id']}/data/", timeout=60)
        rows = [row for result in response.json()["result"] for row in result["data"]] if response.ok else []
        assert all(value is None for row in rows for value in row.values()), chart["slice_name"]
        assert not re.search(r"\bC\d{5}\b", response.text), chart["slice_name"]


def test_sql_analyst_reads_marts_and_reporting_only(superset, api, logins, warehouse_url):
    session = _session(superset, logins, access.SQL_ANALYST)
    (read_only,) = api.list("database", database_name=access.ANALYST_DATABASE)
    (dashboards_db,) = api.list("database", database_name=access.WAREHOUSE_DATABASE)

    def run(sql: str, database_id: int = read_only["id"]) -> requests.Response:
        return session.session.post(
            f"{session.base_url}/api/v1/sqllab/execute/",
            timeout=60,
            json={"database_id": database_id, "sql": sql, "runAsync": False, "client_id": secrets.token_hex(5)},
        )

    answer = run("select count(*) as n from marts.clients")
    assert answer.ok and answer.json()["data"] == [{"n": scalar(warehouse_url, "select count(*) from marts.clients")}]
    assert run("select count(*) as n from reporting.data_health_sources").ok
    denied = run("select count(*) from raw.psa__clients")
    assert not denied.ok and "permission denied" in denied.text
    assert not run("select count(*) from staging.stg_psa__clients").ok
    assert not run("create table marts.scratch (a int)").ok
    assert not run("select count(*) from marts.clients", dashboards_db["id"]).ok, "only its own connection"
    msp = _session(superset, logins, access.MSP_ANALYST)
    refused = msp.session.post(
        f"{msp.base_url}/api/v1/sqllab/execute/",
        timeout=60,
        json={"database_id": read_only["id"], "sql": "select 1", "runAsync": False, "client_id": secrets.token_hex(5)},
    )
    assert refused.status_code == 403, "SQL Lab is the SQL analyst's alone"


# ------------------------------------------------------------------ the browser
@pytest.mark.parametrize(
    ("role", "slug"), [(role, slug) for role in SEES for slug in access.DASHBOARDS if slug in SEES[role]]
)
def test_dashboard_draws_with_the_warehouse_numbers(
    superset, api, logins, artefacts_dir, warehouse_url, client, role, slug
):
    who = role.lower().replace(" ", "-")
    screenshot = artefacts_dir / f"superset-{who}-{slug}.png"
    close_ups = {
        name: artefacts_dir / f"superset-{who}-{name.lower().replace(' ', '-')}.png" for name in CLOSE_UPS.get(slug, ())
    }
    seen = check_dashboard_in_browser(superset.url, *logins[role], slug, screenshot, chart_screenshots=close_ups)
    assert seen.chart_errors == {}
    assert set(seen.empty_charts) <= MAY_BE_EMPTY
    assert sorted(c.name for c in seen.charts) == sorted(c["slice_name"] for c in api.dashboard_charts(slug))
    assert screenshot.stat().st_size > 20_000  # a blank page is a few kB
    client_name = None
    if slug == access.CLIENT_DASHBOARD:
        (profile,) = [c for c in seen.charts if c.name == "Client"]
        names = [n for (n,) in query(warehouse_url, "select client_name from marts.clients") if n in profile.text]
        client_name = max(names, key=len)
        if role == access.CLIENT_VIEWER:
            assert client_name == client[1]
    expected = expected_kpis(warehouse_url, slug, client_name)
    assert set(seen.kpis) == set(expected)
    for name, value in expected.items():
        _assert_shows(seen.kpis[name], value, f"{slug} / {name}")


# ------------------------------------------------------------------ what the KPI tiles must show
def expected_kpis(url: str, slug: str, client_name: str | None = None) -> dict[str, float | None]:
    """Each KPI tile's number, computed straight from the warehouse (not from Superset's datasets)."""
    if slug == access.MSP_DASHBOARD:
        mrr = dict(query(url, "select month, sum(mrr) from marts.client_monthly group by 1 order by 1"))
        latest, previous = sorted(mrr)[-1], sorted(mrr)[-2]
        as_of = scalar(url, "select as_of_date from intermediate.int_psa__calendar")
        full_month = max(m for m in mrr if _month_end(m) <= as_of)
        margin = scalar(
            url,
            "select 100 * sum(revenue - labour_cost - resale_cost) / sum(revenue) "
            "from marts.client_monthly where month = %s",
            (full_month,),
        )
        return {
            "MRR": mrr[latest],
            "MRR growth (month on month)": 100 * (mrr[latest] - mrr[previous]) / mrr[previous],
            "Gross margin % (latest full month)": margin,
            "MRR at risk": scalar(url, "select sum(mrr_at_risk) from reporting.client_churn_risk where is_active"),
        }
    if slug == access.IT_DASHBOARD:
        return {
            "Annual run-rate": scalar(
                url,
                "select 12 * sum(projected_cost) from marts.budget_vs_actual "
                "where month = (select max(month) from marts.budget_vs_actual)",
            ),
            "Wasted on inactive seats": scalar(url, "select sum(wasted_monthly_cost) from marts.inactive_licences"),
            "Licence utilisation": scalar(
                url, "select 100.0 * sum(seats_active_30d) / sum(seats_purchased) from marts.subscription_utilisation"
            ),
            "Renewals in 90 days": scalar(
                url, "select count(*) from marts.subscription_renewals where days_to_renewal between 0 and 90"
            ),
        }
    if slug == access.CLIENT_DASHBOARD:
        months = query(
            url,
            "select tickets_opened, sla_response_pct, csat_avg from marts.client_monthly "
            "where client_name = %s order by month desc",
            (client_name,),
        )
        return {
            "Monthly recurring revenue": scalar(
                url, "select current_mrr from marts.clients where client_name = %s", (client_name,)
            ),
            "Tickets this month": months[0][0],
            # a big number shows the latest month that has a value
            "SLA response (latest month)": next((m[1] for m in months if m[1] is not None), None),
            "CSAT (latest month)": next((m[2] for m in months if m[2] is not None), None),
        }
    return {
        "Sources not fresh": scalar(
            url, "select count(*) from reporting.data_health_sources where freshness_status <> 'fresh'"
        ),
        "Failed checks": scalar(url, "select count(*) from reporting.data_health_checks where not passed"),
        "Files quarantined": scalar(url, "select count(*) from raw._ingestion_ledger where status = 'quarantined'"),
        "Rows rejected": scalar(url, "select coalesce(sum(rows_rejected), 0) from raw._ingestion_ledger"),
    }


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _assert_shows(shown: str, expected, what: str) -> None:
    """The tile's text is the expected number rounded to the decimals it shows."""
    text = shown.replace("\u2212", "-").replace(",", "").replace("$", "").replace("%", "").strip()
    assert re.fullmatch(r"[+-]?\d+(\.\d+)?", text), f"{what}: tile shows {shown!r}"
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert float(text) == pytest.approx(float(expected), abs=0.5 * 10**-decimals + 1e-9), f"{what}: {shown!r}"


# ------------------------------------------------------------------ helpers
def _uuids_by_id(api: SupersetApi, resource: str) -> dict[int, str]:
    return {row["id"]: row.get("uuid") for row in api.list(resource)}


def _asset_files(folder: Path) -> dict[str, dict]:
    return {
        path.relative_to(folder).as_posix(): yaml.safe_load(path.read_text()) for path in sorted(folder.rglob("*.yaml"))
    }


def _yaml_index(folder: Path) -> dict[str, set[tuple[str, str]]]:
    """(uuid, name) of every dataset, chart and dashboard kept as code."""
    files = _asset_files(folder)
    names = {"datasets": "table_name", "charts": "slice_name", "dashboards": "dashboard_title"}
    return {
        kind: {(config["uuid"], config[field]) for path, config in files.items() if path.startswith(kind + "/")}
        for kind, field in names.items()
    }


def _metadata_index(metadata_url: str) -> dict[str, set[tuple[str, str]]]:
    tables = {
        "datasets": ("tables", "table_name"),
        "charts": ("slices", "slice_name"),
        "dashboards": ("dashboards", "dashboard_title"),
    }
    return {
        kind: {(_uuid(u), name) for u, name in query(metadata_url, f"select uuid, {column} from {table}")}
        for kind, (table, column) in tables.items()
    }


def _uuid(value) -> str:
    return str(uuid.UUID(bytes=bytes(value))) if isinstance(value, (bytes, memoryview)) else str(value)
