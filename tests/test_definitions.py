"""The Dagster code location loads, and its graph is what the project expects (a change shows here)."""

import difflib

import pytest
from dagster import AssetKey

from tests.definitions_snapshot import SNAPSHOT, UPDATE_COMMAND, render

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it


def test_definitions_match_the_committed_snapshot():
    """Every asset, asset check, job, schedule and sensor is listed in tests/definitions_snapshot.txt:
    adding or removing one without updating the snapshot fails here, and the diff shows in review."""
    from orchestration.definitions import defs

    loaded = render(defs)
    committed = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    if loaded != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                loaded.splitlines(keepends=True),
                "committed snapshot",
                "loaded definitions",
                n=0,
            )
        )
        raise AssertionError(
            f"the Definitions differ from {SNAPSHOT.name} (- committed, + loaded):\n{diff}\n"
            f"If the change is intended, run `{UPDATE_COMMAND}` and commit tests/{SNAPSHOT.name}."
        )


def test_lineage_runs_from_the_raw_files_to_the_dashboards():
    from orchestration.definitions import defs

    graph = defs.get_repository_def().asset_graph
    # dbt sources are the ingestion assets: lineage runs unbroken from landing to the ML scores
    assert AssetKey(["raw", "psa__agreements"]) in graph.get(AssetKey(["staging", "stg_psa__agreements"])).parent_keys
    assert AssetKey(["marts", "client_churn_features"]) in graph.get(AssetKey(["ml", "churn_scores"])).parent_keys
    # reporting models read the ML outputs: their dbt sources are the ML assets
    assert AssetKey(["ml", "churn_scores"]) in graph.get(AssetKey(["reporting", "client_churn_risk"])).parent_keys
    for ml_key, reporting_key in [
        ("spend_anomalies", "department_spend_anomalies"),
        ("client_health", "client_health"),
        ("spend_forecast", "department_spend_forecast"),
        ("recommendations", "recommendations"),
    ]:
        assert AssetKey(["ml", ml_key]) in graph.get(AssetKey(["reporting", reporting_key])).parent_keys
    assert AssetKey(["marts", "department_daily_spend"]) in graph.get(AssetKey(["ml", "spend_forecast"])).parent_keys
    assert AssetKey(["ml", "churn_scores"]) in graph.get(AssetKey(["ml", "recommendations"])).parent_keys
    # alerts come after the ML scores and the reporting models they read, in the main job
    alerts = graph.get(AssetKey(["alerts", "notifications"]))
    assert alerts.parent_keys == {
        AssetKey(k)
        for k in (
            ["reporting", "churn_watchlist"],
            ["ml", "spend_anomalies"],
            ["reporting", "department_spend_forecast"],
            ["marts", "agreement_renewals"],
            ["marts", "subscription_renewals"],
            ["reporting", "data_health_sources"],
            ["reporting", "data_health_files"],
        )
    }
    assert (
        AssetKey(["alerts", "notifications"])
        in defs.get_repository_def().get_job("pulseops_job").asset_layer.executable_asset_keys
    )
    # dbt tests arrive as asset checks
    checks = {check.name for check in graph.asset_check_keys}
    assert "unique_stg_psa__clients_client_id" in checks
    assert "file_passes_contract" in checks
    assert "source_is_fresh" in checks
    assert "alerts_delivered" in checks


def test_the_snapshot_shows_an_added_asset():
    """A snapshot that only checks a subset would miss an addition: this one names it."""
    from dagster import Definitions, asset

    from orchestration.definitions import defs

    @asset(key=["marts", "an_unlisted_asset"])
    def an_unlisted_asset():
        return None

    assert "marts/an_unlisted_asset" not in SNAPSHOT.read_text()
    grown = Definitions.merge(defs, Definitions(assets=[an_unlisted_asset]))
    added = set(render(grown).splitlines()) - set(render(defs).splitlines())
    assert added == {"marts/an_unlisted_asset"}
