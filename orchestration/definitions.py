"""The single PulseOps code location: ingestion, dbt and ML assets, jobs, schedules and sensors."""

from dagster import Definitions

from orchestration.dbt_project import dbt_resource
from orchestration.defs.alerts import (
    alert_notifications,
    alerts_job,
    alerts_schedule,
    failed_run_alerts,
    recovered_run_alerts,
)
from orchestration.defs.automation import automation_sensor, daily_schedule, ingest_job, landing_sensor, pulseops_job
from orchestration.defs.dbt import warehouse_models
from orchestration.defs.freshness import freshness_checks, freshness_job, freshness_schedule
from orchestration.defs.ingestion import ingestion_assets
from orchestration.defs.ml import ml_assets
from orchestration.resources import ObjectStoreResource, WarehouseResource

defs = Definitions(
    assets=[*ingestion_assets, warehouse_models, *ml_assets, alert_notifications],
    asset_checks=freshness_checks,
    jobs=[pulseops_job, ingest_job, freshness_job, alerts_job],
    schedules=[daily_schedule, freshness_schedule, alerts_schedule],
    sensors=[landing_sensor, automation_sensor, failed_run_alerts, recovered_run_alerts],
    resources={
        "warehouse": WarehouseResource(),
        "object_store": ObjectStoreResource(),
        "dbt": dbt_resource(),
    },
)
