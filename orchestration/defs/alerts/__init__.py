"""Alerts from the pipeline: config, incident detection, rendering, delivery and the ledger."""
from orchestration.defs.alerts.assets import alert_notifications, failed_run_alerts, recovered_run_alerts

__all__ = ["alert_notifications", "failed_run_alerts", "recovered_run_alerts"]
