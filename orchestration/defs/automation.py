"""Jobs, the daily schedule, the landing-zone sensor and the declarative automation sensor.

What a run triggered by new files rebuilds is decided by Dagster from the asset graph: the raw
assets of the sources that received files and everything downstream of them (the dbt models and
ML scores over those sources). Loads started elsewhere (the S3 Lambda launches `ingest_job`) are
followed by the automation sensor, which materializes the assets whose automation condition
(eager: something upstream updated) holds."""

import hashlib

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
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
from ingestion.deliveries import pending_objects
from ingestion.loader import LEDGER
from orchestration.defs.ingestion import raw_asset_key
from orchestration.resources import ObjectStoreResource, WarehouseResource

FINGERPRINT_TAG = "pulseops/files_fingerprint"

# How often the sensor starts the pipeline again for the same new files after its runs failed.
SENSOR_ATTEMPTS = 3

# In-process: on small machines a process per step costs more than the steps themselves.
pulseops_job = define_asset_job(
    "pulseops_job",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Everything: landing -> raw -> dbt models and tests -> ML scores.",
)
ingest_job = define_asset_job(
    "ingest_job",
    selection=AssetSelection.groups(*sorted({f"raw_{c.source}" for c in CONTRACTS})),
    executor_def=in_process_executor,
    description="Landing -> raw only (launched per file by the S3 Lambda).",
)

# The daily run builds everything (the incremental models read only the rows loaded since their
# last build; the tables over them are small).
daily_schedule = ScheduleDefinition(
    name="daily_pulseops", job=pulseops_job, cron_schedule="0 5 * * *", default_status=DefaultScheduleStatus.RUNNING
)


@sensor(
    job=pulseops_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts the pipeline when a new or changed file appears in the landing zone.",
)
def landing_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource, object_store: ObjectStoreResource):
    store = object_store.store()
    with warehouse.connect() as conn:
        has_ledger = conn.execute("select to_regclass(%s)", (LEDGER,)).fetchone()[0] is not None
        conn.rollback()
        by_contract = {
            c: pending_objects(conn, store, c) if has_ledger else store.list(c.landing_prefix) for c in CONTRACTS
        }
    pending = [o for files in by_contract.values() for o in files]
    if not pending:
        return SkipReason("no new or changed files in the landing zone")
    fingerprint = hashlib.sha256("\n".join(sorted(f"{o.key}@{o.version}" for o in pending)).encode()).hexdigest()[:32]
    # The run key makes the same set of files start one run only, however often the sensor ticks;
    # a run of them that failed (after its own step retries) makes the next attempt a new key.
    failed = context.instance.get_runs_count(
        RunsFilter(tags={FINGERPRINT_TAG: fingerprint}, statuses=[DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED])
    )
    if failed >= SENSOR_ATTEMPTS:
        return SkipReason(
            f"{len(pending)} new file(s) failed {failed} runs: see the failed runs, fix, then re-execute one of them"
        )
    context.log.info(f"{len(pending)} new or changed file(s): {[o.key for o in pending][:10]}")
    return RunRequest(
        run_key=f"{fingerprint}-{failed}" if failed else fingerprint,
        asset_selection=downstream_of(context, [c for c, files in by_contract.items() if files]),
        tags={"pulseops/trigger": "landing_sensor", "pulseops/files": str(len(pending)), FINGERPRINT_TAG: fingerprint},
    )


def downstream_of(context: SensorEvaluationContext, contracts) -> list:
    """The raw assets of these contracts, and every asset downstream of them."""
    selection = AssetSelection.assets(*(raw_asset_key(c) for c in contracts)).downstream()
    return sorted(selection.resolve(context.repository_def.asset_graph))


# Materializes the assets whose automation condition holds (orchestration/defs/dbt.py, defs/ml.py)
# after loads that no run of pulseops_job covered: the ones the S3 Lambda starts.
automation_sensor = AutomationConditionSensorDefinition(
    "warehouse_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Rebuilds what lies downstream of new raw loads.",
)
