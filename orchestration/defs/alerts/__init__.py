"""Alerts from the pipeline: config, incident detection, rendering, delivery and the ledger."""

from orchestration.defs.alerts.assets import alert_notifications, failed_run_alerts, recovered_run_alerts
from orchestration.defs.alerts.schedule import alerts_job, alerts_schedule

__all__ = ["alert_notifications", "alerts_job", "alerts_schedule", "failed_run_alerts", "recovered_run_alerts"]
