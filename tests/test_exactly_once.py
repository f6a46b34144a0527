"""Loads happen exactly once whoever starts them, and a fault leaves nothing the ledger does not know.

Each fault is real: two loads of one file racing on two connections, a database that refuses the
commit, a reader holding a lock on the raw table, a symlink in the landing zone.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from bench.faults import commits_refused, wait_until_a_load_holds_its_file
from ingestion.contracts import BY_NAME, CONTRACTS
from ingestion.loader import load_file
from ingestion.object_store import LocalObjectStore
from ingestion.raw_tables import ensure_raw_schema

CONTRACT = BY_NAME["psa__tickets"]
HEADER = (
    "ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,"
    "sla_response_met,sla_resolution_met,reopen_count\n"
)


def tickets(prefix: str, count: int, priority: str = "P2") -> bytes:
    return (
        HEADER + "".join(f"{prefix}{n},C1,{priority},Net,2024-03-01T10:00:00,,,true,,0\n" for n in range(count))
    ).encode()


@pytest.fixture(scope="module")
def database(raw_database):
    return raw_database


@pytest.fixture
def store(tmp_path):
    return LocalObjectStore(tmp_path / "objects")


def deliver(store, name: str, data: bytes):
    key = f"{CONTRACT.landing_prefix}{name}"
    store.put_bytes(key, data)
    return next(o for o in store.list(CONTRACT.landing_prefix) if o.key == key)


def rows_of(url: str, key: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) from raw.psa__tickets t join raw._ingestion_ledger l "
            "on l.file_id = t._file_id where l.file_key = %s",
            (key,),
        ).fetchone()[0]


def table_rows(url: str, prefix: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) from raw.psa__tickets where ticket_id like %s", (prefix + "%",)
        ).fetchone()[0]


def test_two_loads_of_one_file_started_together_store_it_once(database, store):
    stored = deliver(store, "race.csv", tickets("RACE", 2_000))
    start, results = threading.Barrier(2), []

    def load():
        with psycopg.connect(database) as conn:
            start.wait()
            results.append(load_file(conn, store, CONTRACT, stored).status)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results) == ["loaded", "unchanged"]
    assert table_rows(database, "RACE") == 2_000 == rows_of(database, stored.key)


def test_a_quarantined_redelivery_leaves_none_of_the_earlier_rows(database, store):
    first = deliver(store, "redelivered.csv", tickets("REDO", 3))
    with psycopg.connect(database) as conn:
        assert load_file(conn, store, CONTRACT, first).status == "loaded"
        bad = deliver(store, "redelivered.csv", tickets("REDO", 3, priority="P9"))
        result = load_file(conn, store, CONTRACT, bad)
        ledger = conn.execute(
            "select status, rows_loaded from raw._ingestion_ledger where file_key = %s", (bad.key,)
        ).fetchone()
    assert result.status == "quarantined"
    assert ledger == ("quarantined", 0)
    assert table_rows(database, "REDO") == 0, "the ledger says what the table holds"


def test_a_commit_the_database_refuses_leaves_no_rows_and_no_objects(database, store):
    stored = deliver(store, "refused.csv", tickets("REFUSED", 5))
    # A real refusal at commit time: a deferred trigger on the ledger raises when the load commits.
    with commits_refused(database):
        with psycopg.connect(database) as conn, pytest.raises(psycopg.Error, match="refuses this commit"):
            load_file(conn, store, CONTRACT, stored)
    assert table_rows(database, "REFUSED") == 0
    left = [o.key for o in store.list("") if not o.key.startswith("landing/")]
    assert left == [], "nothing in raw/ or quarantine/ the database did not keep"
    with psycopg.connect(database) as conn:  # the next attempt completes
        assert load_file(conn, store, CONTRACT, stored).status == "loaded"
    assert table_rows(database, "REFUSED") == 5


def test_a_long_reader_of_the_raw_table_does_not_block_a_load(database, store):
    stored = deliver(store, "while_read.csv", tickets("READ", 4))
    with psycopg.connect(database) as reader:
        # a dashboard-length query: ACCESS SHARE on the table until it ends
        reader.execute("lock table raw.psa__tickets in access share mode")
        done = threading.Event()

        def load():
            with psycopg.connect(database) as conn:
                ensure_raw_schema(conn, [CONTRACT])
                load_file(conn, store, CONTRACT, stored)
            done.set()

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        finished_while_read = done.wait(60)
        reader.rollback()
        worker.join(60)
    assert finished_while_read, "the load waited for the reader (an exclusive lock on an unchanged table)"
    assert table_rows(database, "READ") == 4


def test_a_symlink_in_the_landing_zone_is_no_delivery(database, store, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_bytes(tickets("OUTSIDE", 1))
    good = deliver(store, "good.csv", tickets("GOODLINK", 2))
    link = store.root / CONTRACT.landing_prefix / "link.csv"
    link.symlink_to(outside)
    (store.root / CONTRACT.landing_prefix / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    assert [o.key for o in store.list(CONTRACT.landing_prefix)] == [good.key]
    with psycopg.connect(database) as conn:
        assert load_file(conn, store, CONTRACT, good).status == "loaded"
    assert table_rows(database, "GOODLINK") == 2 and table_rows(database, "OUTSIDE") == 0


def test_a_server_restart_in_the_middle_of_a_load_loses_and_doubles_nothing(tmp_path):
    """The embedded PostgreSQL is stopped while a load holds its file (and started again): the
    attempt fails as an infrastructure error, leaves no object behind, and the next one loads all."""
    from bench.ingest_bench import usage_file
    from pulseops_core import embedded_postgres

    contract = BY_NAME["saas__daily_usage"]
    state = tmp_path / "state"
    server = embedded_postgres.ensure_running(state, state / "secrets")
    try:
        store = LocalObjectStore(tmp_path / "objects")
        path = tmp_path / "usage.csv"
        usage_file(path, 600_000)
        key = f"{contract.landing_prefix}usage.csv"
        store.put_file(path, key)
        stored = next(iter(store.list(contract.landing_prefix)))
        with psycopg.connect(server.url) as conn:
            ensure_raw_schema(conn, CONTRACTS)
        failure = []

        def load():
            try:
                with psycopg.connect(server.url) as conn:
                    load_file(conn, store, contract, stored)
            except psycopg.OperationalError as error:
                failure.append(error)

        worker = threading.Thread(target=load)
        worker.start()
        wait_until_a_load_holds_its_file(server.url)
        embedded_postgres.stop(state)
        worker.join(120)
        server = embedded_postgres.ensure_running(state, state / "secrets")
        assert failure, "the load was cut off by the restart"
        assert [o.key for o in store.list("") if not o.key.startswith("landing/")] == [], "no orphan objects"
        with psycopg.connect(server.url) as conn:
            assert conn.execute("select count(*) from raw.saas__daily_usage").fetchone()[0] == 0
            assert load_file(conn, store, contract, stored).status == "loaded"
            assert conn.execute("select count(*) from raw.saas__daily_usage").fetchone()[0] == 600_000
        assert len(store.list("raw/")) == 1
    finally:
        embedded_postgres.stop(state)


def test_a_server_restart_in_the_middle_of_a_dbt_build_leaves_the_next_build_whole(tmp_path):
    """The embedded PostgreSQL stops while dbt builds: that build fails, the next one (what Dagster's
    retry runs) builds every model, and the marts hold each client once."""
    from orchestration.pipeline import failure_summary
    from pulseops_core import embedded_postgres
    from pulseops_core.secrets import read_or_create_secret
    from pulseops_core.warehouse_logins import ensure_superset_logins
    from tests.conftest import PipelineRun, fill_with_demo_data
    from tests.support import build_warehouse

    state = tmp_path / "state"
    run = fill_with_demo_data(PipelineRun("dbt-restart", {"PULSEOPS_HOME": str(state)}), job="ingest_job", scale="XS")
    try:
        with run.activate():
            url = embedded_postgres.ensure_running(state, state / "secrets").url
            with psycopg.connect(url) as conn:
                ensure_superset_logins(conn, read_or_create_secret(state / "secrets", "analyst_password")[0])
            outcome = {}

            def build():
                try:
                    outcome["result"] = build_warehouse(url)
                except Exception as error:  # noqa: BLE001 - how the cut-off build ends is what is checked
                    outcome["error"] = error

            worker = threading.Thread(target=build)
            worker.start()
            with psycopg.connect(url, autocommit=True) as watcher:  # dbt has built its first tables
                while not watcher.execute("select count(*) from pg_tables where schemaname = 'staging'").fetchone()[0]:
                    threading.Event().wait(0.2)
            embedded_postgres.stop(state)
            worker.join(300)
            url = embedded_postgres.ensure_running(state, state / "secrets").url
            cut_off = "error" in outcome or not outcome["result"].success
            assert cut_off, "the build was cut off by the restart"

            result = build_warehouse(url)
            assert result.success, failure_summary(result)
            assert len(result.get_asset_materialization_events()) >= 40
            with psycopg.connect(url) as conn:
                clients = conn.execute("select count(*), count(distinct client_id) from marts.clients").fetchone()
                delivered = conn.execute("select count(distinct client_id) from raw.psa__clients").fetchone()[0]
            assert clients == (delivered, delivered)
    finally:
        embedded_postgres.stop(state)
