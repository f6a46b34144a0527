"""The whole pipeline on demo data, on the embedded PostgreSQL and on an external server:
row counts and money reconciled from landing file to raw, staging and marts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ingestion.contracts import CONTRACTS
from tests.support import query, scalar

STAGING = {c.name: f"staging.stg_{c.source}__{c.entity}" for c in CONTRACTS}


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_every_landing_row_reaches_raw_and_staging(pipeline, contract):
    landed = len(pipeline.landing[f"{contract.source}/{contract.entity}"])
    assert landed > 0
    assert scalar(pipeline.database_url, f"select count(*) from {contract.raw_table}") == landed
    assert scalar(pipeline.database_url, f"select count(*) from {STAGING[contract.name]}") == landed
    ledger = query(
        pipeline.database_url,
        "select status, rows_in, rows_loaded, rows_rejected from raw._ingestion_ledger "
        "where source = %s and entity = %s",
        (contract.source, contract.entity),
    )
    assert ledger == [("loaded", landed, landed, 0)]


def test_raw_zone_parquet_matches_landing(pipeline):
    with pipeline.activate():
        store = pipeline.store()
        for contract in CONTRACTS:
            objects = store.list(f"raw/{contract.source}/{contract.entity}/")
            assert len(objects) == 1 and "/load_date=" in objects[0].key
            table = pq.read_table(io.BytesIO(store.get_bytes(objects[0].key)))
            assert table.num_rows == len(pipeline.landing[f"{contract.source}/{contract.entity}"])
            # the delivered file is kept, unchanged, in the landing zone
            assert len(store.list(contract.landing_prefix)) == 1


def _expected_mrr(agreements: pd.DataFrame, month_start: pd.Timestamp) -> pd.Series:
    month_end = month_start + pd.offsets.MonthEnd(0)
    start = pd.to_datetime(agreements["start_date"])
    cancelled = pd.to_datetime(agreements["cancelled_date"])
    ended = pd.to_datetime(agreements["end_date"])
    active = (start <= month_end) & (cancelled.isna() | (cancelled > month_end)) & (ended.isna() | (ended > month_end))
    return agreements[active].groupby("client_id")["monthly_amount"].sum()


def test_client_monthly_mrr_reconciles_with_agreements(pipeline):
    agreements = pipeline.landing["psa/agreements"]
    months = [
        row[0] for row in query(pipeline.database_url, "select distinct month from marts.client_monthly_mrr order by 1")
    ]
    assert len(months) >= 12
    for month in (months[-1], months[len(months) // 2]):
        expected = _expected_mrr(agreements, pd.Timestamp(month))
        mart = dict(
            query(
                pipeline.database_url,
                "select client_id, mrr::float from marts.client_monthly_mrr where month = %s",
                (month,),
            )
        )
        assert set(mart) == set(expected.index)
        assert sum(mart.values()) == pytest.approx(expected.sum(), abs=0.01)


def test_subscription_utilisation_reconciles(pipeline):
    subscriptions = pipeline.landing["saas/subscriptions"]
    rows = query(
        pipeline.database_url,
        "select count(*), sum(seats_purchased), sum(seats_assigned), sum(monthly_cost)::float "
        "from marts.subscription_utilisation",
    )[0]
    assignments = pipeline.landing["saas/licence_assignments"]
    assert rows[0] == len(subscriptions)
    assert rows[1] == subscriptions["seats_purchased"].sum()
    assert rows[2] == assignments["unassigned_date"].isna().sum()  # seats held now
    assert rows[3] == pytest.approx(
        (subscriptions["seats_purchased"] * subscriptions["price_per_seat_month"]).sum(), abs=0.05
    )
    # planted idle seat holders: active seats = assigned - idle for every subscription
    idle = pd.DataFrame(pipeline.truth["inactive_assignments"]).groupby("subscription_id").size()
    mart = dict(
        query(
            pipeline.database_url,
            "select subscription_id, seats_assigned - seats_active_30d from marts.subscription_utilisation",
        )
    )
    for subscription_id, idle_seats in idle.items():
        # a planted idle seat is never active; a few active holders may also have had a quiet month
        assert mart[subscription_id] >= idle_seats


def test_department_spend_reconciles_with_focus_files(pipeline):
    costs = pipeline.landing["focus/costs"]
    costs = costs.assign(department=costs["Tags"].map(lambda tags: json.loads(tags)["department"]))
    expected = costs.groupby("department")["BilledCost"].sum()
    mart = dict(
        query(
            pipeline.database_url,
            "select department, sum(billed_cost)::float from marts.department_daily_spend group by 1",
        )
    )
    assert mart == pytest.approx(expected.to_dict(), abs=0.01)


def test_ml_outputs(pipeline):
    clients = len(pipeline.landing["psa/clients"])
    assert scalar(pipeline.database_url, "select count(*) from ml.churn_scores") == clients
    churned = set(pipeline.truth["churned_clients"])
    scores = dict(query(pipeline.database_url, "select client_id, churn_probability from ml.churn_scores"))
    mean_churner = sum(scores[c] for c in churned) / len(churned)
    mean_stayer = sum(v for c, v in scores.items() if c not in churned) / (clients - len(churned))
    assert mean_churner > mean_stayer + 0.3
    flagged = {
        (d, str(day))
        for d, day in query(pipeline.database_url, "select department, charge_date::date from ml.spend_anomalies")
    }
    spike = next(a for a in pipeline.truth["spend_anomalies"] if a["kind"] == "spike")
    assert (spike["department"], spike["date"]) in flagged


def test_churn_model_is_versioned_with_its_metrics(pipeline):
    from ml_assets.churn import ChurnModel

    runs = query(
        pipeline.database_url,
        "select version, artefact_key, roc_auc, metrics ->> 'evaluation', state, "
        "reason from ml.model_runs where model = 'churn'",
    )
    assert len(runs) == 1
    version, key, roc_auc, evaluation, state, reason = runs[0]
    assert evaluation == "time_split" and 0.5 < roc_auc <= 1
    # A churner is learned from once a snapshot it left within 90 days of has aged 90 days: with
    # data to 2026-11-25 the last such snapshot is July's, so those who left by 2026-10-29.
    last_aged_month_end = (pd.Timestamp(pipeline.truth["as_of"]) - pd.Timedelta(days=90)).to_period(
        "M"
    ).start_time - pd.Timedelta(days=1)
    learned = [
        c
        for c in pipeline.truth["churners"]
        if pd.Timestamp(c["churn_date"]) <= last_aged_month_end + pd.Timedelta(days=90)
    ]
    clients = len(pipeline.landing["psa/clients"])
    assert state == "trained" and reason.endswith(f"snapshots of {clients} clients, {len(learned)} of whom churned")
    with pipeline.activate():
        model = ChurnModel.from_bytes(pipeline.store().get_bytes(key))
    assert key == f"models/churn/{version}.pkl" and model.metrics["roc_auc"] == roc_auc
    drivers = query(pipeline.database_url, "select drivers, model_version from ml.churn_scores limit 1")[0]
    assert json.loads(drivers[0]) and drivers[1] == version


def test_sql_analyst_reads_marts_only(pipeline):
    import psycopg
    from psycopg import errors

    from pulseops_core.secrets import read_or_create_secret
    from pulseops_core.warehouse import libpq_url
    from pulseops_core.warehouse_logins import ANALYST_ROLE

    with pipeline.activate():
        from pulseops_core.settings import Settings

        password, _ = read_or_create_secret(Settings.from_env().secrets_dir, "analyst_password")
    base = libpq_url(pipeline.database_url)
    scheme_user, host = base.split("@", 1)
    analyst_url = f"postgresql://{ANALYST_ROLE}:{password}@{host}"
    with psycopg.connect(analyst_url, autocommit=True) as conn:
        assert conn.execute("select count(*) from marts.client_monthly_mrr").fetchone()[0] > 0
        assert conn.execute("select count(*) from reporting.client_churn_risk").fetchone()[0] > 0
        for statement in (
            "select count(*) from raw.psa__clients",
            "select count(*) from staging.stg_psa__clients",
            "insert into marts.client_monthly_mrr (client_id) values ('x')",
            "delete from marts.subscription_utilisation",
            "delete from reporting.client_churn_risk",
            "create table marts.scratch (x int)",
            "create table public.scratch (x int)",
        ):
            try:
                conn.execute(statement)
            except (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction):
                continue
            raise AssertionError(f"the analyst role could run: {statement}")


def test_every_client_scoped_table_carries_row_level_security(pipeline):
    """Each table of marts and reporting with a client_id column has the policies, and client
    viewers may read only the Client Review page's tables."""
    from pulseops_core.warehouse_logins import CLIENT_VIEWER_ROLE

    client_scoped = query(
        pipeline.database_url,
        """
        select c.relnamespace::regnamespace || '.' || c.relname, c.relrowsecurity, c.relkind,
               array(select p.polname from pg_policy p where p.polrelid = c.oid order by 1)
        from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id'
        where c.relnamespace::regnamespace::text in ('marts', 'reporting') and c.relkind in ('r', 'p', 'v', 'm')
        order by 1""",
    )
    assert len(client_scoped) >= 10
    for table, row_security, kind, policies in client_scoped:
        assert (row_security, kind, policies) == (
            True,
            "r",
            ["analyst_reads_all_clients", "client_viewer_reads_own_clients"],
        ), table
    readable = query(
        pipeline.database_url,
        """
        select table_schema || '.' || table_name from information_schema.role_table_grants
        where grantee = %s and privilege_type = 'SELECT' order by 1""",
        (CLIENT_VIEWER_ROLE,),
    )
    assert [name for (name,) in readable] == [
        "marts.client_monthly",
        "marts.clients",
        "pulseops_security.my_clients",
        "reporting.client_services",
    ]


def test_state_secrets_are_owner_only(pipeline):
    secrets_dir = Path(pipeline.env["PULSEOPS_HOME"]) / "secrets"
    assert secrets_dir.stat().st_mode & 0o077 == 0
    for secret in secrets_dir.iterdir():
        assert secret.stat().st_mode & 0o077 == 0, secret.name
    assert not list(Path(pipeline.env["PULSEOPS_HOME"]).glob("postgres/pwfile")), "initdb's password file is gone"


def test_every_mart_and_reporting_column_has_a_comment(pipeline):
    """dbt persists the YAML docs: a SQL analyst sees what every table and column means."""
    undocumented = query(
        pipeline.database_url,
        """
        select c.table_schema || '.' || c.table_name || '.' || c.column_name
        from information_schema.columns as c
        where c.table_schema in ('marts', 'reporting')
            and col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position) is null
        order by 1""",
    )
    assert undocumented == []
    tables = query(
        pipeline.database_url,
        """
        select table_schema || '.' || table_name from information_schema.tables
        where table_schema in ('marts', 'reporting')
            and obj_description(format('%I.%I', table_schema, table_name)::regclass) is null""",
    )
    assert tables == []
    assert (
        scalar(
            pipeline.database_url,
            "select count(*) from information_schema.tables where table_schema in ('marts', 'reporting')",
        )
        >= 19
    )
