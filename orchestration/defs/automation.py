"""Jobs, the daily schedule and the landing-zone sensor."""

import hashlib

from dagster import (
    AssetSelection,
    Backoff,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Jitter,
    RetryPolicy,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    sensor,
)

from ingestion.contracts import CONTRACTS
from ingestion.loader import LEDGER, pending_files
from orchestration.defs.step_outcomes import step_outcome_hooks
from orchestration.resources import ObjectStoreResource, WarehouseResource

FINGERPRINT_TAG = "pulseops/files_fingerprint"

# A step that fails (a database restarting, S3 throttling) is tried again after 10, 20 and 40
# seconds (with jitter); content problems never fail a step, they quarantine the file.
TRANSIENT_RETRIES = RetryPolicy(max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
# How often the sensor starts the pipeline again for the same new files after its runs failed.
SENSOR_ATTEMPTS = 3

# In-process: on small machines a process per step costs more than the steps themselves.
pulseops_job = define_asset_job(
    "pulseops_job", selection=AssetSelection.all(), executor_def=in_process_executor,
    op_retry_policy=TRANSIENT_RETRIES, hooks=step_outcome_hooks,
    description="Everything: landing -> raw -> dbt models and tests -> ML scores.")
ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.groups(*sorted({f"raw_{c.source}" for c in CONTRACTS})),
    executor_def=in_process_executor, op_retry_policy=TRANSIENT_RETRIES, hooks=step_outcome_hooks,
    description="Landing -> raw only (launched per file by the S3 Lambda).")

# Runs the schedule and the sensor launch carry Dagster's schedule/sensor tag, which makes the dbt
# step the scheduled build once the warehouse exists (orchestration/defs/dbt.py).
daily_schedule = ScheduleDefinition(
    name="daily_pulseops", job=pulseops_job, cron_schedule="0 5 * * *",
    default_status=DefaultScheduleStatus.RUNNING)


@sensor(job=pulseops_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Starts the pipeline when a new or changed file appears in the landing zone.")
def landing_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource,
                   object_store: ObjectStoreResource):
    store = object_store.store()
    with warehouse.connect() as conn:
        has_ledger = conn.execute("select to_regclass(%s)", (LEDGER,)).fetchone()[0] is not None
        conn.rollback()
        if has_ledger:
            pending = [o for c in CONTRACTS for o in pending_files(conn, store, c)]
        else:
            pending = [o for c in CONTRACTS for o in store.list(c.landing_prefix)]
    if not pending:
        return SkipReason("no new or changed files in the landing zone")
    fingerprint = hashlib.sha256("\n".join(sorted(f"{o.key}@{o.version}" for o in pending)).encode()).hexdigest()[:32]
    # The run key makes the same set of files start one run only, however often the sensor ticks;
    # a run of them that failed (after its own step retries) makes the next attempt a new key.
    failed = context.instance.get_runs_count(RunsFilter(
        tags={FINGERPRINT_TAG: fingerprint}, statuses=[DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]))
    if failed >= SENSOR_ATTEMPTS:
        return SkipReason(f"{len(pending)} new file(s) failed {failed} runs: see the failed runs, fix, then "
                          "re-execute one of them")
    context.log.info(f"{len(pending)} new or changed file(s): {[o.key for o in pending][:10]}")
    return RunRequest(run_key=f"{fingerprint}-{failed}" if failed else fingerprint,
                      tags={"pulseops/trigger": "landing_sensor", "pulseops/files": str(len(pending)),
                            FINGERPRINT_TAG: fingerprint})
