"""dbt models as Dagster assets; dbt tests arrive as asset checks."""

import os
from collections.abc import Mapping

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.analyst_role import ensure_analyst_role
from orchestration.dbt_cli import build_command
from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.settings import Settings, read_or_create_secret
from orchestration.warehouse import dbt_environment

# Tags Dagster puts on the runs that the daily schedule and the landing sensor launch.
SCHEDULED_RUN_TAGS = ("dagster/schedule_name", "dagster/sensor_name")
# A mart the first build creates: before it exists, a build is the first (full) build.
BUILT_WAREHOUSE_MARKER = "marts.clients"


def is_scheduled_build(run_tags: Mapping[str, str], warehouse_built: bool) -> bool:
    """A run the schedule or the sensor launched on a warehouse built before: the scheduled build.

    A first build, and any run started by hand (UI, `pulseops pipeline`), is a full build."""
    return warehouse_built and any(tag in run_tags for tag in SCHEDULED_RUN_TAGS)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # profiles.yml reads the connection from the environment of the dbt process.
    os.environ.update(dbt_environment(warehouse.url()))
    # dbt grants SELECT on marts to the analyst role, which must exist first.
    password = os.environ.get("PULSEOPS_ANALYST_PASSWORD") or read_or_create_secret(
        Settings.from_env().secrets_dir, "analyst_password")[0]
    with warehouse.connect() as conn:
        ensure_analyst_role(conn, password)
        built = conn.execute("select to_regclass(%s)", (BUILT_WAREHOUSE_MARKER,)).fetchone()[0] is not None
    scheduled = is_scheduled_build(context.run.tags, built)
    args, env = build_command(scheduled)
    os.environ.update(env)
    context.log.info(f"dbt {' '.join(args)} ({'scheduled' if scheduled else 'full'} build)")
    yield from dbt.cli(args, context=context).stream()
