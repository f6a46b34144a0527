"""The alerts step on its own, hourly: a source falling silent or a file quarantined by a load the
Lambda started is announced within the hour, not at the next pipeline run. It reads views that
answer as of now (data health), so it needs no rebuild; the other kinds find nothing new."""

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job, in_process_executor

from orchestration.defs.alerts.assets import ALERTS_KEY

alerts_job = define_asset_job(
    "alerts_job",
    selection=AssetSelection.assets(ALERTS_KEY),
    executor_def=in_process_executor,
    description="Finds new and resolved incidents and sends the alerts due.",
)
# After the hourly freshness checks (minute 15).
alerts_schedule = ScheduleDefinition(
    name="hourly_alerts", job=alerts_job, cron_schedule="20 * * * *", default_status=DefaultScheduleStatus.RUNNING
)
