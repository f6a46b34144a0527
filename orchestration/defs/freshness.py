"""Freshness: each source has an expected cadence; a source silent for longer fails its check."""

from datetime import datetime, timezone

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetSelection,
    DefaultScheduleStatus,
    MetadataValue,
    ScheduleDefinition,
    asset_check,
    define_asset_job,
    in_process_executor,
)

from ingestion.contracts import CONTRACTS, Contract
from ingestion.raw_tables import LEDGER
from orchestration.defs.ingestion import raw_asset_key
from orchestration.resources import WarehouseResource


def hours_since_last_delivery(conn, contract: Contract, now: datetime) -> float | None:
    row = conn.execute(
        f"select max(loaded_at) from {LEDGER} where source = %s and entity = %s "
        "and status in ('loaded', 'loaded_with_rejects')",
        (contract.source, contract.entity),
    ).fetchone()
    conn.rollback()
    return None if row is None or row[0] is None else (now - row[0]).total_seconds() / 3600


def build_freshness_check(contract: Contract):
    @asset_check(
        asset=raw_asset_key(contract),
        name="source_is_fresh",
        description=f"A new {contract.source}/{contract.entity} file arrived within "
        f"{contract.expected_cadence_hours} hours.",
    )
    def _fresh(warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.connect() as conn:
            table_exists = conn.execute("select to_regclass(%s)", (LEDGER,)).fetchone()[0] is not None
            hours = hours_since_last_delivery(conn, contract, datetime.now(timezone.utc)) if table_exists else None
        limit = contract.expected_cadence_hours
        return AssetCheckResult(
            passed=hours is not None and hours <= limit,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "hours_since_last_file": MetadataValue.float(round(hours, 1))
                if hours is not None
                else MetadataValue.text("never delivered"),
                "expected_within_hours": limit,
            },
        )

    return _fresh


freshness_checks = [build_freshness_check(contract) for contract in CONTRACTS]

freshness_job = define_asset_job(
    "freshness_job",
    selection=AssetSelection.checks(*freshness_checks),
    executor_def=in_process_executor,
    description="Checks that every source delivered within its expected cadence.",
)
freshness_schedule = ScheduleDefinition(
    name="hourly_freshness", job=freshness_job, cron_schedule="15 * * * *", default_status=DefaultScheduleStatus.RUNNING
)
