"""dbt models as Dagster assets; dbt tests arrive as asset checks."""

import os

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.analyst_role import ensure_analyst_role
from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.settings import Settings, read_or_create_secret
from orchestration.warehouse import dbt_environment


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # profiles.yml reads the connection from the environment of the dbt process.
    os.environ.update(dbt_environment(warehouse.url()))
    # dbt grants SELECT on marts to the analyst role, which must exist first.
    password = os.environ.get("PULSEOPS_ANALYST_PASSWORD") or read_or_create_secret(
        Settings.from_env().secrets_dir, "analyst_password")[0]
    with warehouse.connect() as conn:
        ensure_analyst_role(conn, password)
    yield from dbt.cli(["build"], context=context).stream()
