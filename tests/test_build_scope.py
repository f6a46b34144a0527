"""The scheduled build rebuilds only what lies downstream of sources loaded since the last complete
build: a new tickets file rebuilds the ticket models and the marts over them (with every test that
touches them) and leaves the HR and SaaS tables as they were; a build with no new loads runs
nothing; a changed project rebuilds everything."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import AS_OF, ingested_demo_warehouse
from tests.support import build_warehouse, query, scalar

SCALE = "XS"


@pytest.fixture(scope="module")
def manifest():
    from orchestration.dbt_project import dbt_project

    return json.loads(dbt_project.manifest_path.read_text())


def test_scope_follows_the_changed_sources_downstream(manifest):
    from orchestration.build_scope import nodes_in_scope

    scope = nodes_in_scope(manifest, {"psa__tickets"})
    names = {uid.split(".")[2] for uid in scope}
    assert {"stg_psa__tickets", "int_psa__client_month_tickets", "client_monthly", "clients"} <= names
    # a relationship from a rebuilt table to an unchanged one is still checked
    assert any(uid.startswith("test.pulseops.relationships_stg_psa__time_entries_ticket_id") for uid in scope)
    # the reporting models join the ML scores of every run: always rebuilt
    assert "model.pulseops.client_churn_risk" in scope
    # nothing over HR, SaaS or FOCUS alone, and not the budgets seed
    assert not {"stg_hr__employees", "stg_saas__subscriptions", "stg_focus__costs", "budgets"} & names
    assert not any(uid.startswith("test.pulseops.not_null_stg_hr__employees") for uid in scope)
    # with no changed source only the reporting models (and their tests) remain
    assert {manifest["nodes"][uid]["original_file_path"].split("/")[1]
            for uid in nodes_in_scope(manifest, set()) if uid.startswith("model.")} == {"reporting"}


def _build(url, tmp_path, run_id: str, scheduled: bool) -> list[str]:
    return [event["data"]["node_info"]["unique_id"]
            for event in build_warehouse(url, tmp_path / "target", run_id, scheduled)]


def _table_oid(url: str, table: str) -> int:
    # A rebuilt table is a new relation: its oid changes; an incremental one keeps it.
    return scalar(url, "select %s::regclass::oid::bigint", (table,))


def _assert_key_tests_are_constraints(url: str) -> None:
    """Every not_null, unique and accepted_values test of a table is a NOT NULL column, a unique index
    or a CHECK in the warehouse."""
    import psycopg

    from orchestration.dbt_project import dbt_project
    from orchestration.enforced_tests import tests_the_database_guarantees
    from pulseops_core.warehouse import libpq_url

    manifest = json.loads(dbt_project.manifest_path.read_text())
    nodes = manifest["nodes"]
    key_tests = {uid for uid, node in nodes.items()
                 if node["resource_type"] == "test" and "reporting" not in node["original_file_path"]
                 and (node.get("test_metadata") or {}).get("name") in ("not_null", "unique", "unique_combination",
                                                                       "accepted_values")
                 and nodes[node["attached_node"]]["config"]["materialized"] in ("table", "incremental")}
    assert len(key_tests) > 60
    with psycopg.connect(libpq_url(url)) as conn:
        assert tests_the_database_guarantees(conn, manifest, key_tests) == key_tests
        # and PostgreSQL holds the tables to them
        with pytest.raises(psycopg.errors.NotNullViolation, match='column "client_id" of relation "clients"'):
            conn.execute("update marts.clients set client_id = null where client_id = (select min(client_id) from marts.clients)")
        conn.rollback()
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation, match='relation "clients"'):
            conn.execute("update marts.clients set segment = 'Galactic'")
        conn.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into marts.client_monthly_mrr select * from marts.client_monthly_mrr limit 1")


def test_scheduled_build_rebuilds_only_downstream_of_new_loads(tmp_path):
    from ingestion.contracts import BY_NAME
    from ingestion.demo.landing import write_csv
    from orchestration import build_scope
    from orchestration.dbt_project import DBT_PROJECT_DIR
    from orchestration.pipeline import failure_summary, run_job
    from pulseops_core.warehouse import libpq_url

    with ingested_demo_warehouse("scope", tmp_path / "state", SCALE) as run:
        import psycopg

        url, landing = run.database_url, run.landing
        full = _build(url, tmp_path, "run-full", scheduled=False)
        assert "model.pulseops.employees" in full and "seed.pulseops.budgets" in full
        assert {"test.pulseops.not_null_clients_client_id.4666db7cc4",
                "test.pulseops.unique_clients_client_id.135dfeaa10"} <= set(full)
        _assert_key_tests_are_constraints(url)

        # nothing loaded since: the scheduled build has nothing to do
        assert _build(url, tmp_path, "run-idle", scheduled=True) == []

        # one new ticket arrives
        tickets = landing["psa/tickets"]
        client_id = tickets["client_id"].iloc[-1]
        new_ticket = tickets.tail(1).assign(ticket_id="T8888888", created_at=pd.Timestamp(AS_OF) + pd.Timedelta(hours=9),
                                            first_response_at=pd.NaT, resolved_at=pd.NaT, sla_resolution_met=None)
        path = tmp_path / "tickets_new.csv"
        write_csv(new_ticket.reset_index(drop=True), BY_NAME["psa__tickets"], path)
        run.store().put_file(path, f"landing/psa/tickets/{path.name}")
        result = run_job("ingest_job")
        assert result.success, failure_summary(result)
        month = pd.Timestamp(AS_OF).to_period("M").start_time.date()
        tickets_before = scalar(url, "select tickets_opened from marts.client_monthly "
                                     "where client_id = %s and month = %s", (client_id, month))
        employees_oid = _table_oid(url, "marts.employees")

        built = set(_build(url, tmp_path, "run-tickets", scheduled=True))
        assert {"model.pulseops.stg_psa__tickets", "model.pulseops.client_monthly",
                "model.pulseops.clients"} <= built
        assert any(uid.startswith("test.pulseops.relationships_stg_psa__time_entries_ticket_id") for uid in built)
        assert not {"model.pulseops.employees", "model.pulseops.stg_hr__employees",
                    "model.pulseops.subscription_utilisation", "seed.pulseops.budgets"} & built
        assert not any(uid.startswith("unit_test.") for uid in built)
        # tests the database enforces cannot fail and are left out; the others still run
        assert not {"test.pulseops.not_null_clients_client_id.4666db7cc4",
                    "test.pulseops.unique_clients_client_id.135dfeaa10",
                    "test.pulseops.accepted_values_clients_segment__SMB__Mid_Market__Enterprise.76f424ee37"} & built
        # the new ticket reached the mart; the HR mart was left as it was
        assert scalar(url, "select tickets_opened from marts.client_monthly where client_id = %s and month = %s",
                      (client_id, month)) == tickets_before + 1
        assert _table_oid(url, "marts.employees") == employees_oid
        # an incremental table keeps the comments it was created with
        assert scalar(url, "select col_description('marts.client_monthly'::regclass, 1)")

        with psycopg.connect(libpq_url(url)) as conn:
            snapshot = build_scope.ledger_snapshot(conn)
            fingerprint = build_scope.project_fingerprint(DBT_PROJECT_DIR)
            # a later step of the same run (the reporting models, after the ML scores) sees what
            # its first step saw; the next run sees nothing new
            assert build_scope.sources_loaded_since_last_build(conn, "run-tickets", fingerprint, snapshot) \
                == {"psa__tickets"}
            assert build_scope.sources_loaded_since_last_build(conn, "run-next", fingerprint, snapshot) == set()
            # a changed project: no build of it is on record, everything is built
            assert build_scope.sources_loaded_since_last_build(conn, "run-next", "another", snapshot) is None
        assert query(url, "select count(*) from staging.stg_psa__tickets where ticket_id = 'T8888888'") == [(1,)]
