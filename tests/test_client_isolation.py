"""A client's login is an attacker's login too: whatever it sends to Superset, it reads its own rows.

Every attack goes over HTTP only, as a logged-in user would send it, to a real Superset whose
caches live in a Redis every Superset process shares, against warehouses the real pipeline filled:
the embedded PostgreSQL and the external server (which has libxml, so the XML functions exist
there). Each attempt must return only the login's own rows or a 4xx with a clear message, and
refusals are logged. The last tests connect to the warehouse as the client's own login, as any SQL
that got past Superset would run.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import secrets
import subprocess
import zipfile
from pathlib import Path

import psycopg
import pytest

from pulseops_core.warehouse import libpq_url
from pulseops_core.warehouse_logins import (
    ANALYST_ROLE,
    CLIENT_VIEWER_ROLE,
    SESSION_SETTINGS,
)
from superset_config import access
from superset_config.client_identity import warehouse_login, warehouse_password
from superset_config.client_logins import add_client_login
from superset_config.rest import SupersetClient
from tests.superset_support import SupersetApi, start_superset
from tests.support import environment, query

pytestmark = pytest.mark.slow

# A Redis database of the machine's server kept for these tests: emptied when they start.
REDIS_DB = 9
OWNER_PASSWORD_MARKER = "owner-password-" + secrets.token_hex(8)
CLIENT_ID = re.compile(r"\bC\d{5}\b")
# SQL that a hostile login writes into a chart request, one per way out of the row filter.
HOSTILE_SQL = {
    "ts_stat": "max(ts_stat('select client_id::tsvector from marts.clients')::text)",
    "query_to_xml": "max(query_to_xml('select client_id from marts.clients', true, true, '')::text)",
    "table_to_xml": "max(table_to_xml('marts.clients', true, true, '')::text)",
    "set_config": "max(set_config('role', 'pulseops_analyst', false))",
    "current_setting": "max(current_setting('role'))",
    "pg_sleep": "max(pg_sleep(30)::text)",
    "sub-query": "max((select string_agg(client_id, ',') from marts.clients))",
    "union": "1 = 1 union select client_id from marts.clients",
}


@pytest.fixture(scope="module", params=["embedded", "external"])
def warehouse(request):
    return request.getfixturevalue(f"{request.param}_pipeline")


@pytest.fixture(scope="module")
def superset(warehouse, tmp_path_factory):
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)
    analyst_password = (Path(warehouse.env["PULSEOPS_HOME"]) / "secrets" / "analyst_password").read_text().strip()
    # started as `pulseops up` starts it: from a process that holds the warehouse owner's credentials
    with environment(DATABASE_URL=warehouse.database_url, PULSEOPS_PG_PASSWORD=OWNER_PASSWORD_MARKER):
        server = start_superset(
            tmp_path_factory.mktemp("superset-isolation"),
            warehouse.database_url,
            analyst_password=analyst_password,
            extra_env={"SUPERSET_CACHE_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}"},
        )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(superset) -> SupersetApi:
    return SupersetApi.for_server(superset)


@pytest.fixture(scope="module")
def clients(warehouse) -> list[str]:
    """Three clients, the biggest first (never simply the first in a list)."""
    return [
        client_id
        for (client_id,) in query(
            warehouse.database_url, "select client_id from marts.clients order by current_mrr desc, client_id limit 3"
        )
    ]


@pytest.fixture(scope="module")
def logins(superset, admin, warehouse, clients) -> dict[str, SupersetApi]:
    """A session per login: two clients, a client with two sites, and the roles without a client."""
    operator = SupersetClient(superset.url, superset.admin_username, superset.admin_password)
    sessions = {}
    for name, client_ids in (("client-a", clients[:1]), ("client-b", clients[1:2]), ("client-two-sites", clients[::2])):
        password = None  # the first client's call creates the user; later ones only add a client
        for client_id in client_ids:
            login = add_client_login(
                operator, warehouse.database_url, superset.client_login_key, client_id, name, f"{name}@pulseops.invalid"
            )
            password = login.password or password
        sessions[name] = SupersetApi(superset.url, name, password)
    for role in (access.MSP_ANALYST, access.IT_MANAGER, access.SQL_ANALYST):
        username = f"isolation-{role.lower().replace(' ', '-')}"
        sessions[role] = SupersetApi(superset.url, username, admin.add_user(username, role))
    return sessions


@pytest.fixture(scope="module")
def sees(clients) -> dict[str, set[str]]:
    return {"client-a": set(clients[:1]), "client-b": set(clients[1:2]), "client-two-sites": set(clients[::2])}


@pytest.fixture(scope="module")
def review_charts(admin) -> dict[str, dict]:
    """The Client Review page's charts with their saved query contexts."""
    charts = {}
    for chart in admin.dashboard_charts(access.CLIENT_DASHBOARD):
        saved = admin.get(f"/api/v1/chart/{chart['id']}")["result"]
        charts[chart["slice_name"]] = json.loads(saved["query_context"])
    return charts


def by_client(saved: dict) -> dict:
    """A saved chart's request tampered to list every client of its dataset, unfiltered."""
    request = copy.deepcopy(saved)
    request["queries"][0].update(
        columns=["client_id"],
        metrics=[],
        orderby=[],
        filters=[],
        row_limit=100_000,
        post_processing=[],
        extras={"having": "", "where": ""},
    )
    request.update(result_type="full", force=False)
    return request


def post_chart_data(session: SupersetApi, request: dict):
    return session.session.post(f"{session.base_url}/api/v1/chart/data", json=request, timeout=120)


def clients_in(response) -> set[str]:
    return {row["client_id"] for query_result in response.json()["result"] for row in query_result["data"]}


def with_sql(saved: dict, place: str, sql: str) -> dict:
    request = copy.deepcopy(saved)
    query_object = request["queries"][0]
    if place == "metric":
        query_object["metrics"] = [{"expressionType": "SQL", "sqlExpression": sql, "label": "leak"}]
    elif place == "column":
        query_object["columns"] = [{"sqlExpression": sql, "label": "leak", "expressionType": "SQL"}]
    elif place == "where":
        query_object["extras"] = {**query_object.get("extras", {}), "where": sql}
    return request


# ------------------------------------------------------------------ saved charts and tampered requests
def test_each_client_login_reads_its_own_clients_on_every_review_dataset(logins, sees, review_charts):
    for name, own in sees.items():
        for chart, saved in review_charts.items():
            response = post_chart_data(logins[name], by_client(saved))
            assert response.status_code == 200, (name, chart, response.text[:500])
            assert clients_in(response) == own, (name, chart)


@pytest.mark.parametrize("place", ["metric", "column", "where"])
@pytest.mark.parametrize("attack", sorted(HOSTILE_SQL))
def test_sql_written_into_a_chart_request_is_refused(logins, clients, review_charts, superset, attack, place):
    request = with_sql(review_charts["Client"], place, HOSTILE_SQL[attack])
    response = post_chart_data(logins["client-a"], request)
    assert response.status_code == 403, response.text[:500]
    assert response.json()["errors"][0]["message"] == (
        "Custom SQL is not available to your role: use the chart's columns, metrics and filters."
    )
    assert not set(CLIENT_ID.findall(response.text)) - {clients[0]}
    assert "refused chart request from client-a" in superset.log_path.read_text()


@pytest.mark.parametrize("role", [access.MSP_ANALYST, access.IT_MANAGER])
def test_roles_that_do_not_write_sql_get_saved_charts_only(logins, admin, role):
    session = logins[role]
    slug = next(spec.dashboards[0] for spec in access.ROLES if spec.name == role)
    chart = admin.dashboard_charts(slug)[0]
    assert session.chart_data(chart["id"]), "its saved chart answers"
    saved = json.loads(admin.get(f"/api/v1/chart/{chart['id']}")["result"]["query_context"])
    response = post_chart_data(session, with_sql(saved, "metric", "count(*)"))
    assert response.status_code == 403 and "Custom SQL is not available" in response.text


def test_sql_analyst_writes_sql_but_not_the_refused_functions(logins, admin):
    session = logins[access.SQL_ANALYST]
    chart = admin.dashboard_charts(access.DATA_HEALTH_DASHBOARD)[0]
    saved = json.loads(admin.get(f"/api/v1/chart/{chart['id']}")["result"]["query_context"])
    allowed = post_chart_data(session, with_sql(saved, "metric", "count(*)"))
    assert allowed.status_code == 200, allowed.text[:500]
    for function in ("pg_sleep(30)", "query_to_xml('select 1', true, true, '')", "lo_from_bytea(0, 'x')"):
        refused = post_chart_data(session, with_sql(saved, "metric", f"max({function}::text)"))
        assert refused.status_code == 403, function
        assert "These SQL functions are not allowed" in refused.json()["errors"][0]["message"]


def test_exports_hold_only_the_logins_rows(logins, sees, review_charts):
    request = by_client(review_charts["Services and licences"])
    for result_format in ("csv", "xlsx"):
        response = post_chart_data(logins["client-two-sites"], {**request, "result_format": result_format})
        assert response.status_code == 200, response.text[:500]
        if result_format == "csv":
            text = response.content.decode()
            header, *rows = csv.reader(io.StringIO(text))
            assert header == ["Client ID"] and sorted(rows) == sorted([c] for c in sees["client-two-sites"])
        else:
            with zipfile.ZipFile(io.BytesIO(response.content)) as workbook:
                text = workbook.read("xl/sharedStrings.xml").decode()
        assert set(CLIENT_ID.findall(text)) == sees["client-two-sites"]


def test_a_result_cached_for_one_client_is_never_served_to_another(
    logins, sees, review_charts, superset, admin, clients
):
    request = by_client(review_charts["Tickets per month"])
    request["queries"][0]["row_limit"] = 12_345  # a request no earlier test sent
    first = post_chart_data(logins["client-b"], request)
    assert clients_in(first) == sees["client-b"] and not first.json()["result"][0]["is_cached"]
    theirs = post_chart_data(logins["client-a"], request)
    assert clients_in(theirs) == sees["client-a"]
    assert not theirs.json()["result"][0]["is_cached"], "client A's identical request is a cache miss"
    again = post_chart_data(logins["client-a"], request)
    assert again.json()["result"][0]["is_cached"] and clients_in(again) == sees["client-a"], "the cache works"
    keys = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-n", str(REDIS_DB), "--scan", "--pattern", "pulseops*_data_*"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(keys) >= 2, "both results sit in the shared cache"
    # A user an administrator gave client A's Superset roles by hand, without a warehouse login:
    # Superset's own row filter matches client A's exactly, so only the warehouse login in the
    # cache key keeps client A's cached rows from it.
    password = admin.add_user("isolation-same-filter", access.CLIENT_VIEWER, access.client_role(clients[0]))
    lookalike = post_chart_data(SupersetApi(superset.url, "isolation-same-filter", password), request)
    assert not CLIENT_ID.findall(lookalike.text), lookalike.text[:300]


def test_staff_share_cached_results_as_they_share_the_analyst_login(logins, admin, review_charts):
    """Every staff user queries as the analyst, so a result one of them cached serves the next."""
    request = by_client(review_charts["Tickets per month"])
    request["queries"][0]["row_limit"] = 12_346  # a request no other test sent
    first = post_chart_data(logins[access.MSP_ANALYST], request)
    colleague = SupersetApi(
        logins[access.MSP_ANALYST].base_url,
        "isolation-msp-colleague",
        admin.add_user("isolation-msp-colleague", access.MSP_ANALYST),
    )
    second = post_chart_data(colleague, request)
    assert first.status_code == second.status_code == 200, second.text[:300]
    assert not first.json()["result"][0]["is_cached"] and second.json()["result"][0]["is_cached"]
    assert clients_in(second) == clients_in(first) and len(clients_in(first)) > 2


# ------------------------------------------------------------------ other endpoints
def test_sql_lab_is_refused_to_client_logins(logins, admin):
    session = logins["client-a"]
    databases = admin.list("database")
    for database in databases:
        response = session.session.post(
            f"{session.base_url}/api/v1/sqllab/execute/",
            timeout=60,
            json={
                "database_id": database["id"],
                "sql": "select client_id from marts.clients",
                "runAsync": False,
                "client_id": secrets.token_hex(5),
            },
        )
        assert response.status_code == 403, response.text[:300]


def test_explore_and_dataset_endpoints_give_only_own_rows(logins, admin, sees, clients):
    session = logins["client-a"]
    (dataset,) = admin.list("dataset", table_name="clients")
    form_data = {
        "datasource": f"{dataset['id']}__table",
        "viz_type": "table",
        "all_columns": ["client_id"],
        "query_mode": "raw",
        "adhoc_filters": [],
        "row_limit": 100_000,
    }
    legacy = session.session.post(
        f"{session.base_url}/superset/explore_json/", timeout=60, data={"form_data": json.dumps(form_data)}
    )
    assert 400 <= legacy.status_code < 500 and not set(CLIENT_ID.findall(legacy.text)) - sees["client-a"]
    samples = session.session.post(
        f"{session.base_url}/datasource/samples",
        timeout=60,
        json={},
        params={"datasource_id": dataset["id"], "datasource_type": "table"},
    )
    values = session.session.get(
        f"{session.base_url}/api/v1/datasource/table/{dataset['id']}/column/client_id/values/", timeout=60
    )
    for response in (samples, values):
        assert response.status_code == 200 or 400 <= response.status_code < 500, response.text[:300]
        assert set(CLIENT_ID.findall(response.text)) <= sees["client-a"], response.url
    if samples.ok:
        assert {row["client_id"] for row in samples.json()["result"]["data"]} == sees["client-a"]
    if values.ok:
        assert set(values.json()["result"]) == sees["client-a"]


def test_a_client_viewer_without_a_warehouse_login_reads_nothing(superset, admin, review_charts):
    session = SupersetApi(
        superset.url, "isolation-no-login", admin.add_user("isolation-no-login", access.CLIENT_VIEWER)
    )
    response = post_chart_data(session, by_client(review_charts["Client"]))
    assert response.status_code != 200 or clients_in(response) == set()
    assert not CLIENT_ID.findall(response.text)


def test_superset_processes_never_hold_the_warehouse_owners_credentials(superset, warehouse):
    # the web server and, with the Redis these tests use, Superset's Celery worker and beat
    assert len(superset.celery) == 2
    pids, seen = [superset.process.pid, *(process.pid for process in superset.celery)], []
    while pids:
        pid = pids.pop()
        seen.append(pid)
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        names = {entry.split(b"=", 1)[0].decode() for entry in environ.split(b"\0") if entry}
        assert OWNER_PASSWORD_MARKER.encode() not in environ and warehouse.database_url.encode() not in environ
        assert not names & {
            "DATABASE_URL",
            "PULSEOPS_PG_PASSWORD",
            "SUPERSET_ADMIN_PASSWORD",
            "PULSEOPS_ANALYST_PASSWORD",
        }, pid
        assert "PULSEOPS_CLIENT_LOGIN_KEY" in names
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(child) for child in (task / "children").read_text().split()]
    assert len(seen) >= 5, "gunicorn and its workers, the Celery worker and beat"


# ------------------------------------------------------------------ the warehouse itself
def _connect_as_client(warehouse, superset, username: str):
    login = warehouse_login(username)
    url = psycopg.conninfo.make_conninfo(
        libpq_url(warehouse.database_url), user=login, password=warehouse_password(superset.client_login_key, login)
    )
    return psycopg.connect(url, autocommit=True)


def _outcome(conn, sql: str):
    """The rows a statement returns ([] for a command), or the name of the error it raised."""
    try:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []
    except psycopg.Error as error:
        return type(error).__name__


def test_the_warehouse_holds_a_client_session_to_its_rows_whatever_it_runs(logins, warehouse, superset, sees):
    with _connect_as_client(warehouse, superset, "client-a") as conn:

        def own_rows():
            return {client_id for (client_id,) in conn.execute("select client_id from marts.clients")}

        assert own_rows() == sees["client-a"]
        conn.execute("select set_config('role', %s, false)", (CLIENT_VIEWER_ROLE,))
        assert own_rows() == sees["client-a"], "a role it can take keeps its identity"
        conn.execute("reset role")
        assert own_rows() == sees["client-a"]
        for escape in (f"set role {ANALYST_ROLE}", "set session authorization postgres", "reset session authorization"):
            assert _outcome(conn, escape) in ("InsufficientPrivilege", []), escape
            assert own_rows() == sees["client-a"], escape
        assert (
            _outcome(conn, "select query_to_xml('select client_id from marts.clients', true, true, '')")
            == "InsufficientPrivilege"
        )
        assert _outcome(conn, "select lo_from_bytea(0, 'x')") == "InsufficientPrivilege"
        assert _outcome(conn, "select count(*) from reporting.client_churn_risk") == "InsufficientPrivilege", (
            "the MSP's own assessments of its clients are not the client's"
        )
        statistics = "select count(*) from pg_stats where schemaname = 'marts' and tablename = 'clients'"
        assert conn.execute(statistics).fetchone() == (0,), "planner statistics hold other clients' values"
    with psycopg.connect(libpq_url(warehouse.database_url)) as owner:
        assert owner.execute(statistics).fetchone()[0] > 0


def test_row_security_holds_even_where_a_function_runs_text_as_sql(logins, warehouse, superset, sees):
    """query_to_xml is revoked; granted back, it still reads through the policies."""
    login = warehouse_login("client-a")
    with psycopg.connect(libpq_url(warehouse.database_url), autocommit=True) as owner:
        owner.execute(f"grant execute on function query_to_xml(text, boolean, boolean, text) to {login}")
        try:
            with _connect_as_client(warehouse, superset, "client-a") as conn:
                outcome = _outcome(conn, "select query_to_xml('select client_id from marts.clients', true, true, '')")
        finally:
            owner.execute(f"revoke execute on function query_to_xml(text, boolean, boolean, text) from {login}")
    if warehouse.name == "embedded":
        assert outcome == "FeatureNotSupported", "built without libxml"
    else:
        assert set(CLIENT_ID.findall(outcome[0][0])) == sees["client-a"]


@pytest.mark.parametrize("username", ["client-a", ANALYST_ROLE])
def test_every_login_superset_uses_is_bounded_read_only_and_kept_out_of_raw(logins, warehouse, superset, username):
    if username == ANALYST_ROLE:
        password = (Path(warehouse.env["PULSEOPS_HOME"]) / "secrets" / "analyst_password").read_text().strip()
        url = psycopg.conninfo.make_conninfo(libpq_url(warehouse.database_url), user=ANALYST_ROLE, password=password)
        conn = psycopg.connect(url, autocommit=True)
        login = ANALYST_ROLE
    else:
        conn, login = _connect_as_client(warehouse, superset, username), warehouse_login(username)
    with conn:
        settings = dict(
            setting.split("=", 1)
            for setting in conn.execute("select rolconfig from pg_roles where rolname = current_user").fetchone()[0]
        )
        assert settings == SESSION_SETTINGS
        assert conn.execute(
            "select rolconnlimit > 0, rolsuper or rolcreatedb or rolcreaterole or rolbypassrls "
            "from pg_roles where rolname = %s",
            (login,),
        ).fetchone() == (True, False)
        for statement in (
            "select count(*) from raw._ingestion_ledger",
            "create table marts.scratch (a int)",
            "create temporary table scratch (a int)",
            "create schema scratch",
            "delete from marts.clients",
            "select count(*) from ml.churn_scores",
        ):
            assert _outcome(conn, statement) in ("InsufficientPrivilege", "ReadOnlySqlTransaction"), statement
        assert _outcome(conn, "select pg_sleep(0)") == "InsufficientPrivilege"
