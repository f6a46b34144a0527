"""dbt models as Dagster assets, built by `dbt build` through DbtCliResource; dbt tests arrive as
asset checks. Each model materializes eagerly: when an asset it depends on (a raw load, a model
upstream, an ML score) was updated, so what a run rebuilds is what lies downstream of new rows.
Incremental models then read only the rows loaded since their last build (dbt_project/macros/
incremental_facts.sql): the same `dbt build` an analyst runs by hand in dbt_project/."""

import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AutomationCondition, Config
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from pydantic import Field

from orchestration.dbt_project import dbt_project
from orchestration.defs.step_outcomes import TRANSIENT_RETRIES, step_outcome_hooks
from orchestration.resources import WarehouseResource
from pulseops_core.secrets import read_or_create_secret
from pulseops_core.settings import Settings
from pulseops_core.warehouse import dbt_environment
from pulseops_core.warehouse_logins import ensure_superset_logins


class WarehouseTranslator(DagsterDbtTranslator):
    """dbt's nodes as Dagster assets, each rebuilt when anything upstream of it updated."""

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition | None:
        return AutomationCondition.eager()


class WarehouseBuildConfig(Config):
    full_refresh: bool = Field(
        default=False, description="Rebuild the incremental models from every raw row (dbt build --full-refresh)."
    )
    dbt_vars: str = Field(
        default="",
        description="dbt vars for this build as YAML, e.g. {incremental_lookback_hours: 0} (dbt build --vars).",
    )


def build_args(config: WarehouseBuildConfig) -> list[str]:
    """The `dbt build` command line of a run with this config. dbt unit tests run in development
    and CI (`make test`), as dbt Labs advises: their inputs are fixed, so a scheduled build would
    only repeat them."""
    return [
        "build",
        "--exclude-resource-type",
        "unit_test",
        *(["--full-refresh"] if config.full_refresh else []),
        *(["--vars", config.dbt_vars] if config.dbt_vars else []),
    ]


# One build of the warehouse at a time, whichever runs start them (instance `concurrency: pools`).
@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    pool="warehouse_build",
    dagster_dbt_translator=WarehouseTranslator(),
    retry_policy=TRANSIENT_RETRIES,
)
def warehouse_models(
    context: AssetExecutionContext, config: WarehouseBuildConfig, dbt: DbtCliResource, warehouse: WarehouseResource
):
    # dbt grants SELECT on marts to the analyst role, which must exist first.
    password = (
        os.environ.get("PULSEOPS_ANALYST_PASSWORD")
        or read_or_create_secret(Settings.from_env().secrets_dir, "analyst_password")[0]
    )
    with warehouse.connect() as conn:
        ensure_superset_logins(conn, password)
    # dbt_project/profiles.yml reads the connection from the environment: the warehouse's, whichever
    # it is (the embedded PostgreSQL's port is only known once it runs).
    os.environ.update(dbt_environment(warehouse.url()))
    yield from dbt.cli(build_args(config), context=context).stream()


# On the assets, not the jobs: the runs the automation sensor starts record their outcomes too.
warehouse_models = warehouse_models.with_hooks(step_outcome_hooks)
