"""dbt models as Dagster assets; dbt tests arrive as asset checks."""

import os

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.warehouse import dbt_environment


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # profiles.yml reads the connection from the environment of the dbt process.
    os.environ.update(dbt_environment(warehouse.url()))
    yield from dbt.cli(["build"], context=context).stream()
