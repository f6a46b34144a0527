"""The health, forecast and recommendation assets on the demo warehouse the real pipeline built.

Each test reads the `ml` tables the pipeline run wrote and checks them against the demo's data and
its planted ground truth; metadata is checked by materializing the asset again on the same warehouse.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.support import query, scalar

FACTORS = ["csat", "sla", "ticket_trend", "payment", "renewal", "breadth"]


def frame(url: str, sql: str) -> pd.DataFrame:
    import psycopg

    from orchestration.dataframes import read_frame
    from pulseops_core.warehouse import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        return read_frame(conn, sql)


def materialize_again(pipeline, asset_def) -> dict:
    """Materialize one ML asset on the pipeline's warehouse; its metadata as plain values."""
    from dagster import materialize

    from orchestration.resources import ObjectStoreResource, WarehouseResource

    with pipeline.activate():
        result = materialize(
            [asset_def], resources={"warehouse": WarehouseResource(), "object_store": ObjectStoreResource()}
        )
    assert result.success
    [event] = result.get_asset_materialization_events()
    return {
        key: getattr(value, "value", getattr(value, "data", value))
        for key, value in event.materialization.metadata.items()
    }


# --- client health ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def health(pipeline) -> pd.DataFrame:
    return frame(pipeline.database_url, "select * from ml.client_health")


def test_every_active_client_has_a_health_score_that_its_factors_add_up_to(pipeline, health):
    active = {c for (c,) in query(pipeline.database_url, "select client_id from marts.clients where is_active")}
    assert len(active) > 40 and set(health["client_id"]) == active and health["client_id"].is_unique
    contributions = health[[f"contribution_{name}" for name in FACTORS]].sum(axis=1)
    assert (contributions - health["health_score"]).abs().max() <= 0.1  # each part is rounded to 0.01
    assert health["health_score"].between(0, 100).all()
    assert (health["factors_available"] >= 5).all()
    expected_band = pd.cut(
        health["health_score"], [-1, 45, 70, 101], right=False, labels=["at risk", "watch", "healthy"]
    ).astype(str)
    assert (health["health_band"] == expected_band).all()


def test_health_factors_read_the_demo_signals(pipeline, health):
    scored = health.set_index("client_id")
    # Planted slow payers pay late: their payment factor sits below everyone else's.
    slow = scored.index.isin(pipeline.truth["slow_payers"])
    assert slow.sum() >= 2
    assert scored.loc[slow, "factor_payment"].max() < scored.loc[~slow, "factor_payment"].median()
    assert scored.loc[slow, "factor_payment"].mean() < scored.loc[~slow, "factor_payment"].mean() - 0.05
    assert (scored.loc[slow, "avg_days_late"] > 0).all()
    # A client's service count is the services it has under agreement now.
    services = dict(query(pipeline.database_url, "select client_id, active_services from marts.clients"))
    assert all(scored.at[c, "service_count"] == services[c] for c in scored.index)
    # CSAT is the one from the client's latest snapshot, and a lower CSAT never scores higher on it.
    ordered = scored.dropna(subset=["csat_score"]).sort_values("csat_score")
    assert ordered["factor_csat"].is_monotonic_increasing


def test_health_weights_and_bands_are_metadata(pipeline):
    from orchestration.defs.ml import client_health

    metadata = materialize_again(pipeline, client_health)
    assert metadata["clients"] == scalar(pipeline.database_url, "select count(*) from ml.client_health")
    assert set(metadata["weights"]) == set(FACTORS)
    assert sum(f["weight"] for f in metadata["weights"].values()) == pytest.approx(1.0)
    assert sum(metadata["by_band"].values()) == metadata["clients"]


# --- spend forecast -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spend_forecast_rows(pipeline) -> pd.DataFrame:
    return frame(pipeline.database_url, "select * from ml.spend_forecast order by department, month")


def test_forecast_covers_every_department_six_months_ahead(pipeline, spend_forecast_rows):
    departments = {
        d for (d,) in query(pipeline.database_url, "select distinct department from marts.department_daily_spend")
    }
    rows = spend_forecast_rows
    assert set(rows["department"]) == departments and len(departments) >= 5
    last_full_month = pd.Timestamp(
        scalar(
            pipeline.database_url,
            """
        select (date_trunc('month', max(charge_date) + 1) - interval '1 month')::date
        from marts.department_daily_spend""",
        )
    )
    for department, part in rows.groupby("department"):
        assert part["months_ahead"].tolist() == [1, 2, 3, 4, 5, 6], department
        expected = pd.date_range(last_full_month, periods=7, freq="MS")[1:]
        assert list(pd.to_datetime(part["month"])) == list(expected), department


def test_forecast_intervals_contain_the_point_and_widen_with_the_horizon(spend_forecast_rows):
    rows = spend_forecast_rows
    assert (rows["lower"] <= rows["forecast"]).all() and (rows["forecast"] <= rows["upper"]).all()
    assert (rows["lower"] > 0).all() and (rows["interval"] == 0.9).all()
    width = (rows["upper"] - rows["lower"]) / rows["forecast"]
    first, last = width[rows["months_ahead"] == 1].mean(), width[rows["months_ahead"] == 6].mean()
    assert last > first


def test_forecast_is_near_recent_spend(pipeline, spend_forecast_rows):
    recent = dict(
        query(
            pipeline.database_url,
            """
        with months as (
            select department, date_trunc('month', charge_date) as month, sum(billed_cost)::float as spend
            from marts.department_daily_spend group by 1, 2
        )
        select department, spend from months
        where month = (select date_trunc('month', max(charge_date) + 1) - interval '1 month'
                       from marts.department_daily_spend)""",
        )
    )
    next_month = spend_forecast_rows[spend_forecast_rows["months_ahead"] == 1].set_index("department")["forecast"]
    for department, spend in recent.items():
        assert 0.5 * spend < next_month[department] < 2 * spend, department


def test_forecast_backtest_against_seasonal_naive_is_metadata(pipeline):
    from orchestration.defs.ml import spend_forecast

    metadata = materialize_again(pipeline, spend_forecast)
    assert metadata["horizon_months"] == 6 and metadata["departments"] >= 5
    assert 0 < metadata["backtest_mape"] < 50 and metadata["backtest_seasonal_naive_mape"] > 0
    assert 0 <= metadata["backtest_interval_coverage"] <= 1
    assert set(metadata["backtest"]["series"]) == set(
        frame(pipeline.database_url, "select distinct department from ml.spend_forecast")["department"]
    )


# --- recommendations ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recommendations(pipeline) -> pd.DataFrame:
    return frame(pipeline.database_url, "select * from ml.recommendations order by rank")


def test_recommendations_are_ranked_by_money_with_a_reason(recommendations):
    rows = recommendations
    assert rows["rank"].tolist() == list(range(1, len(rows) + 1))
    assert rows["monthly_impact"].is_monotonic_decreasing and (rows["monthly_impact"] > 0).all()
    assert rows["reason"].str.contains(r"\$[\d,.]+", regex=True).all()
    assert set(rows["kind"]) == {
        "reclaim_inactive_seats",
        "right_size_at_renewal",
        "consolidate_duplicate_apps",
        "upsell",
        "churn_prevention",
        "billing_drift",
    }
    assert (rows["audience"] == rows["client_id"].isna().map({True: "it", False: "msp"})).all()
    assert all(isinstance(json.loads(d), dict) for d in rows["details"])


def test_recommendations_find_what_the_demo_planted(pipeline, recommendations):
    by_kind = {kind: set(part["subject_id"]) for kind, part in recommendations.groupby("kind")}
    truth = pipeline.truth
    assert {d["agreement_id"] for d in truth["billing_drift"]} <= by_kind["billing_drift"]
    assert {f"{g['client_id']}|{g['service']}" for g in truth["upsell_gaps"]} <= by_kind["upsell"]
    idle = {a["subscription_id"] for a in truth["inactive_assignments"]}
    assert idle <= by_kind["reclaim_inactive_seats"]
    planted_pairs = [set(p["application_ids"]) for p in truth["duplicate_app_pairs"]]
    found_pairs = [set(s.split("|")) for s in by_kind["consolidate_duplicate_apps"]]
    assert all(pair in found_pairs for pair in planted_pairs)


def test_churn_prevention_is_mrr_at_risk_of_active_clients(pipeline, recommendations):
    at_risk = recommendations[recommendations["kind"] == "churn_prevention"].set_index("client_id")
    expected = dict(
        query(
            pipeline.database_url,
            """
        select scores.client_id, round((scores.churn_probability * clients.current_mrr)::numeric, 2)::float
        from ml.churn_scores as scores join marts.clients as clients using (client_id)
        where clients.is_active and scores.churn_probability >= 0.2 and clients.current_mrr > 0""",
        )
    )
    assert set(at_risk.index) == set(expected)
    for client_id, money in expected.items():
        assert at_risk.at[client_id, "monthly_impact"] == pytest.approx(money, abs=0.02)


def test_recommendation_counts_and_money_are_metadata(pipeline):
    from orchestration.defs.ml import recommendations as recommendations_asset

    metadata = materialize_again(pipeline, recommendations_asset)
    rows = frame(
        pipeline.database_url,
        "select kind, count(*) as n, sum(monthly_impact) as money from ml.recommendations group by 1",
    ).set_index("kind")
    assert metadata["recommendations"] == rows["n"].sum()
    assert {k: v["count"] for k, v in metadata["by_kind"].items()} == rows["n"].to_dict()
    assert metadata["monthly_impact"] == pytest.approx(rows["money"].sum(), abs=0.05)
    assert metadata["top_5"].startswith("1. ")


# --- the graph ------------------------------------------------------------------------------------


def test_new_ml_assets_run_in_the_pipeline_job_after_their_inputs():
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.get_repository_def().asset_graph
    job_keys = defs.resolve_job_def("pulseops_job").asset_layer.selected_asset_keys
    parents = {
        # their feature queries are dbt models
        "client_health": {("marts", "client_health_inputs")},
        "spend_forecast": {("marts", "department_daily_spend")},
        "recommendations": {("ml", "churn_scores"), ("marts", "billing_reconciliation"), ("marts", "held_seats")},
    }
    for name, expected in parents.items():
        key = AssetKey(["ml", name])
        assert key in job_keys
        assert {AssetKey(list(p)) for p in expected} <= graph.get(key).parent_keys


# --- the dashboards' reporting models over these tables ------------------------------------------


def test_reporting_models_read_the_new_ml_tables(pipeline):
    url = pipeline.database_url
    assert scalar(url, "select count(*) from reporting.client_health") == scalar(
        url, "select count(*) from ml.client_health"
    )
    assert (
        scalar(url, "select count(*) from reporting.recommendations where client_name is null and audience = 'msp'")
        == 0
    )
    assert scalar(url, "select bool_and(annual_impact = round(12 * monthly_impact, 2)) from reporting.recommendations")
    forecast = frame(url, "select * from reporting.department_spend_forecast")
    assert len(forecast) == scalar(url, "select count(*) from ml.spend_forecast")
    assert (forecast["total_forecast"] >= forecast["cloud_forecast"]).all()
    budgeted = forecast.dropna(subset=["budget"])
    assert len(budgeted) and budgeted["budget_outlook"].notna().all()
    over = budgeted["total_lower"] > budgeted["budget"]
    assert (budgeted.loc[over, "budget_outlook"] == "over budget").all()
