"""How a failed step is named and explained, in the warehouse and in the terminal (no server needed)."""

from __future__ import annotations

from dagster._utils.error import SerializableErrorInfo

from orchestration.defs.step_outcomes import error_text, step_asset
from orchestration.pipeline import _root_cause


def test_a_step_is_named_by_the_asset_it_writes():
    assert step_asset("ml__churn_scores") == "ml/churn_scores"
    assert step_asset("raw__psa__clients") == "raw/psa__clients"
    assert step_asset("warehouse_models_3") == "warehouse_models_3"  # the dbt models of one step


def test_the_recorded_error_is_the_root_cause():
    try:
        try:
            raise ValueError("need at least two examples of each class")
        except ValueError as cause:
            raise RuntimeError("Error occurred while executing op") from cause
    except RuntimeError as wrapped:
        assert error_text(wrapped) == "ValueError: need at least two examples of each class"
    assert error_text(None) is None
    assert len(error_text(ValueError("x" * 2000))) == 500


def test_the_terminal_gets_the_root_cause_and_both_ends_of_a_long_message():
    cause = SerializableErrorInfo(
        'ObjectNotInPrerequisiteState: "client_health" is not a table\nHINT: ...', [], "ObjectNotInPrerequisiteState"
    )
    wrapper = SerializableErrorInfo("DagsterExecutionStepExecutionError: Error occurred", [], "X", cause=cause)
    assert _root_cause(wrapper) == ('ObjectNotInPrerequisiteState: "client_health" is not a table ... HINT: ...')
    dbt = SerializableErrorInfo(
        "DbtBuildFailed: dbt build --select " + "model " * 100 + "failed:\n"
        "test.relationships_invoices: fail Got 1 result",
        [],
        "DbtBuildFailed",
    )
    summary = _root_cause(dbt)
    assert summary.startswith("DbtBuildFailed: dbt build --select model") and len(summary) < 260
    assert summary.endswith("... test.relationships_invoices: fail Got 1 result")


def test_a_run_of_no_job_of_ours_records_its_steps_and_retries_them(raw_database, tmp_path, monkeypatch):
    """The automation sensor's runs execute Dagster's own asset job: the assets carry the outcome
    hooks and the retry policy, so those runs show on Data Health and survive a passing fault."""
    from dagster import AssetKey, materialize
    from dagster._core.definitions.dependency import NodeHandle

    from orchestration.definitions import defs
    from orchestration.resources import ObjectStoreResource, WarehouseResource
    from tests.support import query

    monkeypatch.setenv("PULSEOPS_HOME", str(tmp_path))  # an empty landing zone
    result = materialize(
        [defs.get_assets_def(AssetKey(["raw", "psa__clients"]))],
        resources={"warehouse": WarehouseResource(database_url=raw_database), "object_store": ObjectStoreResource()},
    )

    assert result.success
    assert query(raw_database, "select job_name, step_key, asset, succeeded from raw._pipeline_step_outcomes") == [
        (result.dagster_run.job_name, "raw__psa__clients", "raw/psa__clients", True)
    ]
    automation_job = defs.get_implicit_global_asset_job_def()
    asset_ops = {assets_def.op.name for assets_def in defs.assets}
    assert {node.definition.name for node in automation_job.graph.nodes} >= asset_ops
    for node in (node for node in automation_job.graph.nodes if node.definition.name in asset_ops):
        assert automation_job.get_retry_policy_for_handle(NodeHandle(node.name, None)) is not None, node.name
