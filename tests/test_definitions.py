"""The Dagster code location loads, and its graph is what the project expects (a change shows here)."""
from dagster import AssetKey

from ingestion.contracts import CONTRACTS


def test_definitions_graph():
    from orchestration.definitions import defs

    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    expected_raw = {f"raw/{c.name}" for c in CONTRACTS}
    assert expected_raw <= keys
    assert {"marts/client_monthly_mrr", "marts/subscription_utilisation", "marts/department_daily_spend",
            "marts/client_churn_features"} <= keys
    ml = {"churn_scores", "spend_anomalies", "client_health", "spend_forecast", "recommendations"}
    assert {f"ml/{name}" for name in ml} <= keys
    marts = {"clients", "client_monthly", "agreements", "agreement_renewals", "billing_reconciliation", "employees",
             "applications", "inactive_licences", "subscription_renewals", "duplicate_applications",
             "application_daily_usage", "daily_spend", "budget_vs_actual"}
    assert {f"marts/{name}" for name in marts} <= keys
    reporting = {"client_churn_risk", "department_spend_anomalies", "client_health", "department_spend_forecast",
                 "recommendations"}
    assert {f"reporting/{name}" for name in reporting} | {"reference/budgets"} <= keys
    assert {f"staging/stg_{c.source}__{c.entity}" for c in CONTRACTS} <= keys
    assert sorted(job.name for job in repository.get_all_jobs() if not job.name.startswith("__")) == [
        "alerts_job", "freshness_job", "ingest_job", "pulseops_job"]
    assert sorted(s.name for s in repository.schedule_defs) == ["daily_pulseops", "hourly_alerts", "hourly_freshness"]
    assert sorted(s.name for s in repository.sensor_defs) == [
        "failed_run_alerts", "landing_sensor", "recovered_run_alerts", "warehouse_automation"]
    # dbt sources are the ingestion assets: lineage runs unbroken from landing to the ML scores
    graph = repository.asset_graph
    assert AssetKey(["raw", "psa__agreements"]) in graph.get(AssetKey(["staging", "stg_psa__agreements"])).parent_keys
    assert AssetKey(["marts", "client_churn_features"]) in graph.get(AssetKey(["ml", "churn_scores"])).parent_keys
    # reporting models read the ML outputs: their dbt sources are the ML assets
    assert AssetKey(["ml", "churn_scores"]) in graph.get(AssetKey(["reporting", "client_churn_risk"])).parent_keys
    for ml_key, reporting_key in [("spend_anomalies", "department_spend_anomalies"),
                                  ("client_health", "client_health"),
                                  ("spend_forecast", "department_spend_forecast"),
                                  ("recommendations", "recommendations")]:
        assert AssetKey(["ml", ml_key]) in graph.get(AssetKey(["reporting", reporting_key])).parent_keys
    assert AssetKey(["marts", "department_daily_spend"]) in graph.get(AssetKey(["ml", "spend_forecast"])).parent_keys
    assert AssetKey(["ml", "churn_scores"]) in graph.get(AssetKey(["ml", "recommendations"])).parent_keys
    # alerts come after the ML scores and the reporting models they read, in the main job
    alerts = graph.get(AssetKey(["alerts", "notifications"]))
    assert alerts.parent_keys == {AssetKey(k) for k in (
        ["reporting", "churn_watchlist"], ["ml", "spend_anomalies"], ["reporting", "department_spend_forecast"],
        ["marts", "agreement_renewals"], ["marts", "subscription_renewals"], ["reporting", "data_health_sources"],
        ["reporting", "data_health_files"])}
    assert AssetKey(["alerts", "notifications"]) in repository.get_job("pulseops_job").asset_layer.executable_asset_keys
    # dbt tests arrive as asset checks
    checks = {check.name for check in graph.asset_check_keys}
    assert "unique_stg_psa__clients_client_id" in checks
    assert "file_passes_contract" in checks
    assert "source_is_fresh" in checks
    assert "alerts_delivered" in checks
