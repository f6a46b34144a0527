"""dbt models as Dagster assets; dbt tests arrive as asset checks."""

import os
from collections.abc import Mapping
from pathlib import Path
from uuid import uuid4

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, dbt_assets
from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.warehouse_build import WarehouseBuild
from pulseops_core.secrets import read_or_create_secret
from pulseops_core.settings import Settings
from pulseops_core.warehouse_logins import ensure_superset_logins

# Tags Dagster puts on the runs that the daily schedule and the landing sensor launch.
SCHEDULED_RUN_TAGS = ("dagster/schedule_name", "dagster/sensor_name")
# A mart the first build creates: before it exists, a build is the first (full) build.
BUILT_WAREHOUSE_MARKER = "marts.clients"


def is_scheduled_build(run_tags: Mapping[str, str], warehouse_built: bool) -> bool:
    """A run the schedule or the sensor launched on a warehouse built before: the scheduled build.

    A first build, and any run started by hand (UI, `pulseops pipeline`), is a full build."""
    return warehouse_built and any(tag in run_tags for tag in SCHEDULED_RUN_TAGS)


# One build of the warehouse at a time, whichever runs start them (instance `concurrency: pools`).
@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool="warehouse_build")
def warehouse_models(context: AssetExecutionContext, warehouse: WarehouseResource):
    # dbt grants SELECT on marts to the analyst role, which must exist first.
    password = os.environ.get("PULSEOPS_ANALYST_PASSWORD") or read_or_create_secret(
        Settings.from_env().secrets_dir, "analyst_password")[0]
    with warehouse.connect() as conn:
        ensure_superset_logins(conn, password)
        built = conn.execute("select to_regclass(%s)", (BUILT_WAREHOUSE_MARKER,)).fetchone()[0] is not None
    # The dbt nodes of this step: Dagster runs the op once before the ML assets and once after.
    params = get_updated_cli_invocation_params_for_context(
        context=context, manifest={},
        dagster_dbt_translator=DagsterDbtTranslator())
    selection = list(params.selection_args)
    if params.indirect_selection:
        selection += ["--indirect-selection", params.indirect_selection]
    target_path = dbt_project.project_dir / "target" / f"{context.op_execution_context.op.name}-{context.run.run_id[:8]}-{uuid4().hex[:6]}"
    build = WarehouseBuild(
        database_url=warehouse.url(), run_id=context.run.run_id,
        scheduled=is_scheduled_build(context.run.tags, built), target_path=target_path,
        selection_args=selection,
        project_dir=Path(params.dbt_project.project_dir) if params.dbt_project else dbt_project.project_dir,
        # A run of hand-picked assets leaves the rest of the project as it was.
        complete=context.run.asset_selection is None, say=context.log.info)
    for event in build.stream():
        yield from DbtCoreCliEventMessage(raw_event=event, event_history_metadata={}).to_default_asset_events(
            manifest=params.manifest, dagster_dbt_translator=params.dagster_dbt_translator,
            context=context, target_path=target_path)
