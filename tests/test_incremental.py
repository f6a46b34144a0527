"""Incremental builds give the same warehouse as a full refresh: build, deliver a new day's files
(with late rows for old days, corrected re-deliveries of old rows and a re-delivered FOCUS billing
period), run the build Dagster runs after them (the assets downstream of the sources that received
files, the incremental models reading only the rows loaded since their last build), then compare
every table with a --full-refresh build, both ways, duplicates included; and a re-delivered FOCUS
file replaces its billing period's money. Then the same after time alone passes (a ticket months
later moves "now") and after an agreement is cancelled."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from tests.conftest import AS_OF, ingested_demo_warehouse
from tests.support import build_warehouse, query, scalar

SCALE = "XS"
SCHEMAS = ("staging", "intermediate", "marts")
NEW_DAY = f"{AS_OF.isoformat()}"
# The large facts, their daily and monthly aggregates and the client-month tables: the models that
# add to their tables.
INCREMENTAL_MODELS = {
    "stg_focus__costs",
    "stg_psa__csat_responses",
    "stg_psa__invoices",
    "stg_psa__tickets",
    "stg_psa__time_entries",
    "stg_rmm__device_snapshots",
    "stg_saas__daily_usage",
    "int_focus__daily_spend",
    "int_psa__agreement_month_labour",
    "int_psa__client_month_tickets",
    "int_rmm__client_month_health",
    "int_saas__daily_app_usage",
    "int_saas__last_activity",
    # and the client-month tables, by whole months
    "int_client_months",
    "client_monthly",
    "client_monthly_mrr",
    "client_churn_features",
}


def _next_day(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows of the frame's last day, moved one day on."""
    days = pd.to_datetime(frame[column])
    last = frame[days.dt.normalize() == days.max().normalize()].copy()
    last[column] = pd.to_datetime(last[column]) + timedelta(days=1)
    return last


def new_deliveries(landing: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A new day of usage, costs, tickets, time and RMM, each file with rows for old days too."""
    usage = landing["saas/daily_usage"]
    first_day = pd.to_datetime(usage["usage_date"]).min()
    late_usage = usage.head(1).assign(usage_date=first_day - timedelta(days=3))  # a day never delivered before
    corrected_usage = usage.iloc[[len(usage) // 2]].assign(active=True, activity_count=99)
    costs = landing["focus/costs"]
    # FOCUS files replace whole billing periods: the current one again, month to date with the new
    # day, and an old one re-delivered with a late row and a corrected row.
    periods = pd.to_datetime(costs["BillingPeriodStart"])
    current = costs[periods == periods.max()]
    old_period = redelivered_period(costs)
    old_rows = costs[periods == old_period]
    late_cost = old_rows.iloc[[0]].assign(
        ResourceId=lambda f: f["ResourceId"] + "-late", BilledCost=12.34, EffectiveCost=12.34
    )
    corrected = old_rows.index[len(old_rows) // 2]
    old_rows = old_rows.assign(
        BilledCost=old_rows["BilledCost"].where(old_rows.index != corrected, 777.0),
        EffectiveCost=old_rows["EffectiveCost"].where(old_rows.index != corrected, 700.0),
    )
    tickets = landing["psa/tickets"]
    new_ticket = tickets.tail(1).assign(
        ticket_id="T9999999",
        created_at=pd.Timestamp(AS_OF) + timedelta(hours=9),
        first_response_at=pd.NaT,
        resolved_at=pd.NaT,
        sla_resolution_met=None,
    )
    reopened = tickets.iloc[[10]].assign(reopen_count=5, sla_resolution_met=False)
    entries = landing["psa/time_entries"]
    new_entry = entries.tail(1).assign(time_entry_id="TE99999999", started_at=pd.Timestamp(AS_OF) + timedelta(hours=10))
    late_entry = entries.iloc[[5]].assign(time_entry_id="TE99999998", hours=7.5)
    snapshots = landing["rmm/device_snapshots"]
    corrected_snapshot = snapshots.iloc[[3]].assign(managed_endpoints=999)
    return {
        "saas/daily_usage": pd.concat([_next_day(usage, "usage_date"), late_usage, corrected_usage]),
        "focus/costs": pd.concat(
            [
                current,
                _next_day(costs, "ChargePeriodStart").assign(
                    ChargePeriodEnd=lambda f: pd.to_datetime(f["ChargePeriodStart"]) + timedelta(days=1)
                ),
                old_rows,
                late_cost,
            ]
        ),
        "psa/tickets": pd.concat([new_ticket, reopened]),
        "psa/time_entries": pd.concat([new_entry, late_entry]),
        "rmm/device_snapshots": pd.concat([_next_day(snapshots, "snapshot_date"), corrected_snapshot]),
    }


def _naive(moment) -> pd.Timestamp:
    moment = pd.Timestamp(moment)
    return moment.tz_convert(None) if moment.tzinfo else moment


def redelivered_period(costs: pd.DataFrame) -> pd.Timestamp:
    """The old billing period the new deliveries send again (one from the middle of the history)."""
    periods = sorted(pd.to_datetime(costs["BillingPeriodStart"]).unique())
    return periods[len(periods) // 2]


def deliver(store, frames: dict[str, pd.DataFrame], tmp_path, suffix: str = "late") -> None:
    from ingestion.contracts import BY_NAME
    from ingestion.demo.landing import write_csv

    for name, frame in frames.items():
        source, entity = name.split("/")
        path = tmp_path / f"{entity}_{NEW_DAY}_{suffix}.csv"
        write_csv(frame.reset_index(drop=True), BY_NAME[f"{source}__{entity}"], path)
        store.put_file(path, f"landing/{source}/{entity}/{path.name}")


def tables(url: str) -> list[tuple[str, str]]:
    return query(
        url,
        "select table_schema, table_name from information_schema.tables "
        "where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
        (list(SCHEMAS),),
    )


def differences_from_full_refresh(url: str, full_build) -> dict[str, tuple[int, int]]:
    """Keep a copy of every table, rebuild with --full-refresh and count the rows only in either,
    duplicates included. The warehouse is left fully refreshed."""
    import psycopg

    from pulseops_core.warehouse import libpq_url

    built = tables(url)
    assert len(built) >= 20
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("drop schema if exists incremental_result cascade")
        conn.execute("create schema incremental_result")
        for schema, table in built:
            conn.execute(f'create table incremental_result."{schema}__{table}" as select * from "{schema}"."{table}"')
    full_build()
    assert tables(url) == built
    differences = {}
    for schema, table in built:
        full, incr = f'"{schema}"."{table}"', f'incremental_result."{schema}__{table}"'
        only_incremental = scalar(
            url, f"select count(*) from (select * from {incr} except all select * from {full}) as d"
        )
        only_full = scalar(url, f"select count(*) from (select * from {full} except all select * from {incr}) as d")
        if only_incremental or only_full:
            differences[f"{schema}.{table}"] = (only_incremental, only_full)
    return differences


def _build_after_loads(url: str, *sources: str):
    """The build Dagster runs after new files of `sources`: their raw assets' downstream dbt models
    (orchestration/defs/automation.py). A lookback of zero: only the rows loaded since the last
    build are read, as when the previous build ran longer ago than the lookback window."""
    from dagster import AssetKey, AssetSelection

    from orchestration.pipeline import failure_summary

    selection = AssetSelection.assets(*(AssetKey(["raw", source]) for source in sources)).downstream(include_self=False)
    result = build_warehouse(url, selection, dbt_vars="{incremental_lookback_hours: 0}")
    assert result.success, failure_summary(result)
    built = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert built, "nothing was built"
    return built


def _models_of(url: str) -> dict[str, str]:
    """Each table of the dbt schemas and its kind (the incremental ones keep their table)."""
    return dict(
        query(
            url,
            "select table_name, table_schema from information_schema.tables "
            "where table_schema = any(%s) and table_type = 'BASE TABLE'",
            (list(SCHEMAS),),
        )
    )


def test_incremental_build_equals_full_refresh(tmp_path):
    from orchestration.pipeline import failure_summary, run_job

    with ingested_demo_warehouse("incremental", tmp_path / "state", SCALE) as run:
        url, landing = run.database_url, run.landing
        first = build_warehouse(url)
        assert first.success, failure_summary(first)
        assert set(_models_of(url)) >= INCREMENTAL_MODELS
        usage_rows = scalar(url, "select count(*) from staging.stg_saas__daily_usage")
        kept_oids = {
            model: scalar(url, "select %s::regclass::oid::bigint", (f"{_models_of(url)[model]}.{model}",))
            for model in INCREMENTAL_MODELS
        }

        deliver(run.store(), new_deliveries(landing), tmp_path)
        result = run_job("ingest_job")
        assert result.success, failure_summary(result)
        built = _build_after_loads(url, *(name.replace("/", "__") for name in new_deliveries(landing)))
        assert INCREMENTAL_MODELS - {"stg_psa__csat_responses", "stg_psa__invoices"} <= built
        assert not {"stg_hr__employees", "stg_saas__subscriptions", "budgets"} & built
        # the incremental models added to their tables (a rebuilt table is a new relation)
        assert {
            model: scalar(url, "select %s::regclass::oid::bigint", (f"{_models_of(url)[model]}.{model}",))
            for model in INCREMENTAL_MODELS
        } == kept_oids
        # new day + a late row; the corrected row replaced its old version
        assert (
            scalar(url, "select count(*) from staging.stg_saas__daily_usage")
            == usage_rows + len(new_deliveries(landing)["saas/daily_usage"]) - 1
        )
        assert scalar(url, "select count(*) from staging.stg_focus__costs where billed_cost = 777") == 1

        def full_refresh():
            refreshed = build_warehouse(url, full_refresh=True)
            assert refreshed.success, failure_summary(refreshed)

        assert differences_from_full_refresh(url, full_refresh) == {}
        # A re-delivered FOCUS file replaces its billing period: the money of every period is that
        # of its latest delivery, never the sum of two deliveries.
        delivered = new_deliveries(landing)["focus/costs"]
        redelivered = set(pd.to_datetime(delivered["BillingPeriodStart"]).unique())
        original = landing["focus/costs"]
        kept = original[~pd.to_datetime(original["BillingPeriodStart"]).isin(redelivered)]
        expected = pd.concat([kept, delivered])
        expected_by_period = expected.groupby(pd.to_datetime(expected["BillingPeriodStart"]))["BilledCost"].sum()
        staged = query(
            url,
            "select billing_period_start, sum(billed_cost), count(*) from staging.stg_focus__costs "
            "group by 1 order by 1",
        )
        assert [_naive(row[0]) for row in staged] == list(expected_by_period.index)
        assert max(abs(float(row[1]) - expected_by_period[_naive(row[0])]) for row in staged) < 0.005
        assert sum(row[2] for row in staged) == len(expected)
        old_period = redelivered_period(original)
        next_period = old_period + pd.DateOffset(months=1)
        in_old_period = f"charge_date >= '{old_period:%Y-%m-%d}' and charge_date < '{next_period:%Y-%m-%d}'"
        assert (
            abs(
                float(scalar(url, f"select sum(billed_cost) from marts.department_daily_spend where {in_old_period}"))
                - expected_by_period[old_period]
            )
            < 0.005
        )
        # and the late and corrected rows reached the marts
        assert scalar(url, "select max(charge_date) from marts.department_daily_spend") == AS_OF
        assert (
            scalar(
                url,
                "select count(*) from marts.client_monthly where tickets_opened > 0 "
                "and month = date_trunc('month', %s::date)",
                (AS_OF,),
            )
            >= 1
        )

        # Only time passes: a ticket a hundred days on moves "now" (the calendar's as-of date) into a
        # later month, which reveals the outcome of recent churn snapshots and adds months.
        hidden = scalar(url, "select count(*) from marts.client_churn_features where not outcome_observable")
        later = pd.Timestamp(AS_OF) + timedelta(days=100, hours=9)
        deliver(
            run.store(),
            {
                "psa/tickets": landing["psa/tickets"]
                .tail(1)
                .assign(
                    ticket_id="T9999997",
                    created_at=later,
                    first_response_at=pd.NaT,
                    resolved_at=pd.NaT,
                    sla_resolution_met=None,
                )
            },
            tmp_path,
            "later",
        )
        result = run_job("ingest_job")
        assert result.success, failure_summary(result)
        _build_after_loads(url, "psa__tickets")
        assert scalar(url, "select as_of_date from intermediate.int_psa__calendar") == later.date()
        assert (
            scalar(
                url,
                "select count(*) from marts.client_churn_features where not outcome_observable "
                "and snapshot_month <= %s",
                (AS_OF,),
            )
            < hidden
        )
        assert differences_from_full_refresh(url, full_refresh) == {}

        # An agreement changes: a client's only managed-services agreement is cancelled two months
        # back, which labels its earlier snapshots as churned and ends its recurring revenue.
        agreement_id, client_id = query(
            url,
            """
            select agreement_id, client_id from staging.stg_psa__agreements as agreements
            where agreement_type = 'managed_services' and not is_cancelled and start_date < %s
                and 1 = (select count(*) from staging.stg_psa__agreements as others
                         where others.client_id = agreements.client_id
                             and others.agreement_type = 'managed_services')
            order by agreement_id limit 1""",
            (AS_OF - timedelta(days=150),),
        )[0]
        agreements = landing["psa/agreements"]
        cancelled_on = AS_OF - timedelta(days=60)
        deliver(
            run.store(),
            {
                "psa/agreements": agreements[agreements["agreement_id"] == agreement_id].assign(
                    cancelled=True, cancelled_date=cancelled_on, cancellation_reason="moved provider"
                )
            },
            tmp_path,
            "cancelled",
        )
        result = run_job("ingest_job")
        assert result.success, failure_summary(result)
        _build_after_loads(url, "psa__agreements")
        labels = query(
            url,
            "select snapshot_month, churns_within_90d from marts.client_churn_features where client_id = %s order by 1",
            (client_id,),
        )
        assert labels and labels[-1][0] < cancelled_on and any(churns for _, churns in labels), labels
        assert differences_from_full_refresh(url, full_refresh) == {}


pytestmark = pytest.mark.filterwarnings("ignore")
