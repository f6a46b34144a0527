"""Re-runs add nothing; a bad file is quarantined with a readable report; a corrected re-delivery
replaces its earlier rows. On a warehouse of their own, so they disturb no other test."""

import json

import psycopg
import pytest

from orchestration.pipeline import run_job
from tests.conftest import PipelineRun, fill_with_demo_data
from tests.support import query, scalar, throwaway_database


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    with throwaway_database() as url:
        state = tmp_path_factory.mktemp("ingestion-state")
        yield fill_with_demo_data(
            PipelineRun("ingested", {"PULSEOPS_HOME": str(state), "DATABASE_URL": url}), job="ingest_job"
        )


def _ingest(run):
    with run.activate():
        result = run_job("ingest_job")
    return result


def test_second_run_adds_nothing(ingested):
    before = scalar(ingested.database_url, "select count(*) from raw.psa__tickets")
    ledger_before = query(ingested.database_url, "select * from raw._ingestion_ledger order by 1")
    assert _ingest(ingested).success
    assert scalar(ingested.database_url, "select count(*) from raw.psa__tickets") == before
    assert query(ingested.database_url, "select * from raw._ingestion_ledger order by 1") == ledger_before


def test_bad_file_is_quarantined_with_report(ingested):
    url = ingested.database_url
    clients_before = scalar(url, "select count(*) from raw.psa__clients")
    bad = (
        "client_id,client_name,industry,segment,onboarded_date,employee_count\n"
        "C90001,Bad Co,Retail,SMB,2024-01-01,12\n"
    )  # no region column
    good = ingested.landing["psa/agreements"].head(3).assign(agreement_id=["AGX1", "AGX2", "AGX3"])
    with ingested.activate():
        store = ingested.store()
        store.put_bytes("landing/psa/clients/clients_missing_region.csv", bad.encode())
        store.put_bytes("landing/psa/agreements/agreements_extra.csv", good.to_csv(index=False).encode())
        result = run_job("ingest_job")
        report = json.loads(store.get_bytes("quarantine/psa/clients/clients_missing_region.csv.report.json"))
        assert store.get_bytes("landing/psa/clients/clients_missing_region.csv") == bad.encode()  # kept as delivered
    assert result.success  # a bad file fails its check, not the run
    checks = {(e.asset_key.to_user_string(), e.passed) for e in result.get_asset_check_evaluations()}
    assert ("raw/psa__clients", False) in checks
    assert ("raw/psa__agreements", True) in checks
    assert report["file"] == "landing/psa/clients/clients_missing_region.csv"
    assert report["errors"][0]["rule"] == "columns_match_contract"
    assert report["errors"][0]["detail"] == "missing columns ['region'], unexpected columns []"
    assert scalar(url, "select count(*) from raw.psa__clients") == clients_before  # nothing of it loaded
    assert query(
        url,
        "select status, rows_in, rows_rejected, report_key from raw._ingestion_ledger "
        "where file_key = 'landing/psa/clients/clients_missing_region.csv'",
    ) == [("quarantined", 1, 1, "quarantine/psa/clients/clients_missing_region.csv.report.json")]
    # other sources still load
    assert (
        scalar(
            url,
            "select count(*) from raw.psa__agreements join raw._ingestion_ledger on file_id = _file_id "
            "where file_key like '%%agreements_extra.csv'",
        )
        == 3
    )


def test_corrected_redelivery_replaces_rows(ingested):
    url = ingested.database_url
    clients = ingested.landing["psa/clients"]
    key = next(
        k
        for (k,) in query(
            url,
            "select file_key from raw._ingestion_ledger "
            "where source = 'psa' and entity = 'clients' and status = 'loaded'",
        )
    )
    corrected = clients.copy()
    corrected.loc[0, "client_name"] = "Renamed Holdings"
    with ingested.activate():
        ingested.store().put_bytes(key, corrected.to_csv(index=False).encode())
        assert run_job("ingest_job").success
    assert scalar(
        url,
        "select count(*) from raw.psa__clients join raw._ingestion_ledger on file_id = _file_id where file_key = %s",
        (key,),
    ) == len(clients)
    assert (
        scalar(url, "select client_name from raw.psa__clients where client_id = %s", (clients.loc[0, "client_id"],))
        == "Renamed Holdings"
    )


def test_silent_source_fails_its_freshness_check(ingested):
    from orchestration.definitions import defs

    url = ingested.database_url
    with ingested.activate():
        fresh = defs.get_job_def("freshness_job").execute_in_process(raise_on_error=False)
    delivered = {f"raw/{name.replace('/', '__')}" for name in ingested.landing}
    verdicts = {e.asset_key.to_user_string(): e.passed for e in fresh.get_asset_check_evaluations()}
    assert verdicts == {key: key in delivered for key in verdicts}  # never delivered is not fresh
    with psycopg.connect(url) as conn:
        conn.execute(
            "update raw._ingestion_ledger set loaded_at = now() - interval '100 hours' "
            "where source = 'psa' and entity = 'tickets'"
        )
    with ingested.activate():
        stale = defs.get_job_def("freshness_job").execute_in_process(raise_on_error=False)
    failed = {e.asset_key.to_user_string() for e in stale.get_asset_check_evaluations() if not e.passed}
    assert failed - {key for key, passed in verdicts.items() if not passed} == {"raw/psa__tickets"}


def test_landing_sensor_requests_a_run_only_for_new_files(ingested):
    from dagster import DagsterInstance, DagsterRunStatus, RunRequest, SkipReason, build_sensor_context
    from dagster._core.test_utils import create_run_for_test

    from orchestration.definitions import defs
    from orchestration.defs.automation import FINGERPRINT_TAG, SENSOR_ATTEMPTS
    from orchestration.resources import ObjectStoreResource, WarehouseResource

    sensor = defs.get_sensor_def("landing_sensor")
    resources = {"warehouse": WarehouseResource(), "object_store": ObjectStoreResource()}
    with ingested.activate(), DagsterInstance.ephemeral() as instance:

        def tick():
            return sensor(build_sensor_context(resources=resources, instance=instance, definitions=defs))

        idle = tick()
        ingested.store().put_bytes(
            "landing/saas/applications/applications_next_day.csv",
            ingested.landing["saas/applications"].to_csv(index=False).encode(),
        )
        woken = tick()
        again = tick()
        # its run failed (after its own retries): the sensor starts the files again, a bounded number of times
        attempts = []
        for _ in range(SENSOR_ATTEMPTS):
            create_run_for_test(
                instance,
                job_name="pulseops_job",
                status=DagsterRunStatus.FAILURE,
                tags={FINGERPRINT_TAG: woken.tags[FINGERPRINT_TAG]},
            )
            attempts.append(tick())
    assert isinstance(idle, SkipReason)
    assert isinstance(woken, RunRequest) and woken.tags["pulseops/files"] == "1"
    # the run rebuilds what lies downstream of the new file's source, nothing over other sources
    selected = {key.to_user_string() for key in woken.asset_selection}
    assert {
        "raw/saas__applications",
        "staging/stg_saas__applications",
        "marts/applications",
        "ml/recommendations",
        "reporting/recommendations",
    } <= selected
    assert not {"raw/psa__tickets", "staging/stg_psa__tickets", "marts/client_monthly", "ml/churn_scores"} & selected
    assert again.run_key == woken.run_key  # the same new file never starts a second run
    assert [a.run_key for a in attempts[:-1]] == [f"{woken.run_key}-{n}" for n in range(1, SENSOR_ATTEMPTS)]
    assert isinstance(attempts[-1], SkipReason) and "failed 3 runs" in attempts[-1].skip_message


def test_a_landing_folder_of_hostile_files_loads_its_good_ones_through_the_asset(ingested):
    """Files that once raised out of the asset's loop are quarantined with their error; the good file
    beside them loads, and the run still succeeds (the failures show as the contract check)."""
    header = (
        "ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,"
        "sla_response_met,sla_resolution_met,reopen_count\n"
    )
    files = {
        "a_nested.jsonl": b'{"ticket_id": "HX1", "client_id": {"id": 1}}\n',
        "b_field_beyond_the_csv_limit.csv": (header.rstrip("\n") + "," + "x" * 200_000 + "\n").encode(),
        "c_every_row_bad.csv": (header + "HX2,C1,P9,Net,2024-03-01T10:00:00,,,true,,0\n").encode(),
        "d_good.csv": (header + "HX3,C1,P1,Net,2024-03-01T10:00:00+01:00,,,true,,0\n").encode(),
    }
    with ingested.activate():
        store = ingested.store()
        for name, data in files.items():
            store.put_bytes(f"landing/psa/tickets/hostile/{name}", data)
        result = run_job("ingest_job")
    assert result.success
    statuses = dict(
        query(
            ingested.database_url,
            "select file_key, status from raw._ingestion_ledger where file_key like 'landing/psa/tickets/hostile/%'",
        )
    )
    assert statuses == {
        "landing/psa/tickets/hostile/a_nested.jsonl": "quarantined",
        "landing/psa/tickets/hostile/b_field_beyond_the_csv_limit.csv": "quarantined",
        "landing/psa/tickets/hostile/c_every_row_bad.csv": "quarantined",
        "landing/psa/tickets/hostile/d_good.csv": "loaded",
    }
    assert query(ingested.database_url, "select created_at::text from raw.psa__tickets where ticket_id like 'HX%'") == [
        ("2024-03-01 09:00:00",)
    ]
