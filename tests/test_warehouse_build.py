"""The warehouse build is dbt's and Dagster's own: `dbt build` run by hand in dbt_project/ and the
Dagster materialization of the dbt assets write the same tables, and what a run after new loads
rebuilds is decided by the assets' automation conditions: what lies downstream of the new rows."""

from __future__ import annotations

import json
from collections import Counter

import psycopg
import pytest

from tests.conftest import ingested_demo_warehouse
from tests.support import EXTERNAL_ADMIN_URL, build_by_hand, build_warehouse, query

SCALE = "XS"
SCHEMAS = ("reference", "staging", "intermediate", "marts")


def _tables(url: str) -> list[tuple[str, str]]:
    return query(
        url,
        "select table_schema, table_name from information_schema.tables where table_schema = any(%s) order by 1, 2",
        (list(SCHEMAS),),
    )


def _rows(url: str, schema: str, table: str) -> Counter:
    # as text: JSON columns arrive as dicts
    rows = query(url, f'select * from "{schema}"."{table}"')
    return Counter(json.dumps(row, sort_keys=True, default=str) for row in rows)


def test_a_build_by_hand_and_the_dagster_build_write_the_same_tables(tmp_path):
    from orchestration.pipeline import failure_summary

    with ingested_demo_warehouse("by-hand", tmp_path / "state", SCALE) as run:
        by_hand = run.database_url
        # the same raw rows (the same load times) in a second database, for Dagster to build
        via_dagster = by_hand.rsplit("/", 1)[0] + "/" + by_hand.rsplit("/", 1)[1] + "_dagster"
        with psycopg.connect(EXTERNAL_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'create database "{via_dagster.rsplit("/", 1)[1]}" template "{by_hand.rsplit("/", 1)[1]}"')
        try:
            for _ in range(2):  # a first build, then an incremental one over the same rows
                hand = build_by_hand(by_hand, "--target-path", str(tmp_path / "target"))
                assert hand.returncode == 0, hand.stdout[-3000:]
                result = build_warehouse(via_dagster)
                assert result.success, failure_summary(result)
            built = _tables(by_hand)
            assert len(built) >= 40 and built == _tables(via_dagster)
            different = [
                f"{schema}.{table}"
                for schema, table in built
                if _rows(by_hand, schema, table) != _rows(via_dagster, schema, table)
            ]
            assert different == []
            assert sum(len(_rows(by_hand, "marts", table)) for _, table in built if _ == "marts") > 1000
            # every dbt test ran as an asset check, and passed
            checks = result.get_asset_check_evaluations()
            assert len(checks) >= 100 and all(check.passed for check in checks)
        finally:
            with psycopg.connect(EXTERNAL_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{via_dagster.rsplit("/", 1)[1]}" with (force)')


@pytest.fixture
def automation():
    """The code location's assets, all materialized once, and the automation conditions' cursor."""
    from dagster import AssetMaterialization, DagsterInstance, evaluate_automation_conditions

    from orchestration.definitions import defs

    graph = defs.get_repository_def().asset_graph
    with DagsterInstance.ephemeral() as instance:
        for key in graph.get_all_asset_keys():
            if graph.get(key).is_materializable:
                instance.report_runless_asset_event(AssetMaterialization(key))
        cursor = evaluate_automation_conditions(defs=defs, instance=instance).cursor
        yield defs, graph, instance, cursor


def _requested_after_loads(automation, *raw: str) -> set[str]:
    from dagster import AssetKey, AssetMaterialization, evaluate_automation_conditions

    defs, graph, instance, cursor = automation
    for name in raw:
        instance.report_runless_asset_event(AssetMaterialization(AssetKey(["raw", name])))
    result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    return {key.to_user_string() for key in graph.get_all_asset_keys() if result.get_num_requested(key)}


def test_nothing_is_rebuilt_without_new_loads(automation):
    assert _requested_after_loads(automation) == set()


def test_new_tickets_rebuild_what_lies_downstream_of_them_only(automation):
    requested = _requested_after_loads(automation, "psa__tickets")
    assert {
        "staging/stg_psa__tickets",
        "intermediate/int_psa__client_month_tickets",
        "intermediate/int_psa__calendar",
        "marts/client_monthly",
        "marts/clients",
        "marts/client_churn_features",
        "ml/churn_scores",
        "ml/client_health",
        "reporting/client_churn_risk",
    } <= requested
    # nothing over HR, SaaS, Microsoft 365 or FOCUS alone, nor the budgets seed or other PSA staging
    assert not {
        key
        for key in requested
        if key.split("/")[1].startswith(("stg_hr", "stg_saas", "stg_m365", "stg_focus", "int_saas", "int_focus"))
    }
    assert (
        not {
            "reference/budgets",
            "staging/stg_psa__clients",
            "staging/stg_psa__time_entries",
            "marts/subscription_utilisation",
            "marts/department_daily_spend",
            "ml/spend_anomalies",
            "ml/spend_forecast",
        }
        & requested
    )
