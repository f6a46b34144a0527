"""Alerts in Dagster: an asset after the ML scores and the reporting models that finds new and
resolved incidents and sends them; a run failure sensor for failed runs, and a run status sensor
that announces a failed run resolved when a re-execution of it succeeds.

A recipient that cannot be reached (SMTP server down, webhook answering 500) fails the attempt, and
Dagster retries the step (DELIVERY_RETRIES); what was sent stays sent. After the last retry the
step succeeds with its check `alerts_delivered` failed, naming each recipient and error: the
pipeline is not failed by a mail server, and the undelivered alerts go out with the next run.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Backoff,
    DagsterRunStatus,
    DefaultSensorStatus,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    RunFailureSensorContext,
    RunStatusSensorContext,
    asset,
    run_failure_sensor,
    run_status_sensor,
)

from orchestration.defs.alerts.config import AlertsConfigError, load_alerts_config
from orchestration.defs.alerts.delivery import deliver
from orchestration.defs.alerts.incidents import (
    Incident,
    deliverable,
    detect,
    record_incident,
    record_incidents,
    resolve_incident,
)
from orchestration.defs.alerts.ledger import ensure_ledger
from orchestration.defs.step_outcomes import step_asset, step_outcome_hooks
from orchestration.resources import WarehouseResource

ALERTS_KEY = AssetKey(["alerts", "notifications"])
DELIVERY_CHECK = "alerts_delivered"
# Short waits: an alert is worth little late, and what is still undelivered after the last try
# goes out with the next run.
DELIVERY_RETRIES = RetryPolicy(max_retries=2, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
# One alerts step at a time across runs, so two runs never judge the same incident at once.
ALERTS_LOCK = 0x616C65727473  # 'alerts'

ALERT_SOURCES = [
    AssetKey(["reporting", "churn_watchlist"]),
    AssetKey(["ml", "spend_anomalies"]),
    AssetKey(["reporting", "department_spend_forecast"]),
    AssetKey(["marts", "agreement_renewals"]),
    AssetKey(["marts", "subscription_renewals"]),
    AssetKey(["reporting", "data_health_sources"]),
    AssetKey(["reporting", "data_health_files"]),
]


class AlertsNotDelivered(RuntimeError):
    """Raised so Dagster retries the step; the message names recipients and errors only."""


def _check(passed: bool, metadata: dict) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=ALERTS_KEY,
        check_name=DELIVERY_CHECK,
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


@asset(
    key=ALERTS_KEY,
    group_name="alerts",
    deps=ALERT_SOURCES,
    kinds={"python", "postgres"},
    retry_policy=DELIVERY_RETRIES,
    hooks=step_outcome_hooks,
    check_specs=[
        AssetCheckSpec(
            DELIVERY_CHECK,
            asset=ALERTS_KEY,
            description="Every alert due was accepted by its recipient's mail server "
            "or webhook (after the step's retries).",
        )
    ],
    description="New and resolved incidents (churn risk, spend anomalies, budget outlook, renewals, stale "
    "sources, quarantined files, failed runs) sent by email, Slack and Teams as PULSEOPS_ALERTS_FILE "
    "routes them; each once per recipient (alerts.incidents, alerts.deliveries).",
)
def alert_notifications(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    try:
        config = load_alerts_config()
    except AlertsConfigError as error:
        context.log.error(str(error))
        return MaterializeResult(check_results=[_check(False, {"error": str(error)})])
    with warehouse.connect() as conn:
        conn.execute("select pg_advisory_lock(%s)", (ALERTS_LOCK,))
        conn.commit()
        try:
            found = detect(conn, config.lookback_days, config.renewal_days)
            seen_since = conn.execute("select now()").fetchone()[0]
            record_incidents(conn, found)
            conn.commit()
            ensure_ledger(conn)
            due = deliverable(conn, seen_since, config.lookback_days)
            conn.commit()
            outcome = deliver(conn, config, due, context.run.run_id)
        finally:
            conn.rollback()
            conn.execute("select pg_advisory_unlock(%s)", (ALERTS_LOCK,))
            conn.commit()
    current = {kind: len(incidents) for kind, incidents in found.items()}
    context.log.info(f"alerts ({config.source}): incidents now {current}; sent {outcome.sent or 'nothing'}")
    if outcome.failed:
        errors = "; ".join(outcome.failed.values())
        if context.retry_number < DELIVERY_RETRIES.max_retries:
            raise AlertsNotDelivered(f"not delivered, will retry: {errors}")
        context.log.error(f"alerts not delivered after {context.retry_number + 1} attempts: {errors}")
    metadata = {
        "config": config.source,
        "current_incidents": MetadataValue.json(current),
        "alerts_sent": outcome.alerts_sent,
        "sent_by_recipient": MetadataValue.json(outcome.sent),
    }
    return MaterializeResult(
        metadata=metadata,
        check_results=[
            _check(
                not outcome.failed,
                {
                    "failed_recipients": MetadataValue.json(outcome.failed),
                    "alerts_sent": outcome.alerts_sent,
                    "attempts": context.retry_number + 1,
                },
            )
        ],
    )


def failed_run_incident(context: RunFailureSensorContext, dagster_url: str) -> Incident:
    """A failed run as an incident keyed by its first run: Dagster's re-executions and automatic run
    retries of a run carry its root run id, so a retry that fails again is not announced again."""
    run = context.dagster_run
    root = run.tags.get("dagster/root_run_id") or run.run_id
    failures = context.get_step_failure_events()
    steps = ", ".join(sorted({step_asset(event.step_key) for event in failures})) or "-"
    errors = [event.step_failure_data.error for event in failures if event.step_failure_data]
    first_error = errors[0] if errors else None
    while first_error is not None and first_error.cause is not None:
        first_error = first_error.cause
    reason = (
        (first_error.message.strip().splitlines() or ["-"])[0][:300]
        if first_error
        else (context.failure_event.message or "-")[:300]
    )
    return Incident(
        "failed_run",
        root,
        f"Run of {run.job_name} failed",
        [
            ["Job", run.job_name],
            ["Run", run.run_id],
            ["Failed steps", steps],
            ["Error", reason],
            [
                "Started by",
                run.tags.get("dagster/schedule_name")
                or run.tags.get("dagster/sensor_name")
                or run.tags.get("pulseops/trigger")
                or "hand",
            ],
        ],
        link=f"{dagster_url}/runs/{run.run_id}",
    )


@run_failure_sensor(
    name="failed_run_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Announces each failed run (once for a run and its retries) to the routes of "
    "kind failed_run; what it cannot deliver goes out with the next alerts step.",
)
def failed_run_alerts(context: RunFailureSensorContext, warehouse: WarehouseResource):
    config = load_alerts_config()
    incident = failed_run_incident(context, config.dagster_url)
    with warehouse.connect() as conn:
        record_incident(conn, incident)
        conn.commit()
        ensure_ledger(conn)
        outcome = deliver(conn, config, [incident], context.dagster_run.run_id)
    if outcome.failed:
        # The tick shows the error; the incident is recorded, so the next alerts step sends it.
        raise AlertsNotDelivered(f"failed run {incident.key} not delivered: {'; '.join(outcome.failed.values())}")
    context.log.info(f"run {context.dagster_run.run_id} failed: sent to {sorted(outcome.sent) or 'no one'}")


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    name="recovered_run_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Announces a failed run resolved when a re-execution or retry of it succeeds, to "
    "those told of the failure.",
)
def recovered_run_alerts(context: RunStatusSensorContext, warehouse: WarehouseResource):
    run = context.dagster_run
    root = run.tags.get("dagster/root_run_id")
    if not root:
        return  # a first run that succeeded has no failure to resolve
    config = load_alerts_config()
    with warehouse.connect() as conn:
        incident = resolve_incident(conn, "failed_run", root)
        conn.commit()
        if incident is None:
            return
        incident.facts.append(["Succeeded in run", run.run_id])
        ensure_ledger(conn)
        outcome = deliver(conn, config, [incident], run.run_id)
    if outcome.failed:
        raise AlertsNotDelivered(f"recovery of run {root} not delivered: {'; '.join(outcome.failed.values())}")
