"""Ingestion assets: one per source entity, landing -> raw. Each validates every new file with the
contract's Great Expectations suite and reports quarantined files as a failed asset check."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from ingestion.contracts import CONTRACTS, Contract
from ingestion.deliveries import WAITING, Delivery, load_delivery, pending_deliveries
from ingestion.loader import ensure_raw_schema
from orchestration.defs.step_outcomes import TRANSIENT_RETRIES, step_outcome_hooks
from orchestration.resources import ObjectStoreResource, WarehouseResource

CHECK_NAME = "file_passes_contract"


class IngestConfig(Config):
    object_keys: list[str] = Field(
        default_factory=list,
        description="Only these landing keys (e.g. from an S3 event); empty means every new or changed file.",
    )


def raw_asset_key(contract: Contract) -> AssetKey:
    return AssetKey(["raw", contract.name])


def _deliveries_to_load(conn, store, contract: Contract, config: IngestConfig) -> list[Delivery]:
    """New or changed deliveries (a file, or the files a manifest lists), those naming a wanted key."""
    pending = pending_deliveries(conn, store, contract)
    if not config.object_keys:
        return pending
    wanted = set(config.object_keys)
    return [d for d in pending if d.keys & wanted]


def build_ingestion_asset(contract: Contract):
    @asset(
        key=raw_asset_key(contract),
        group_name=f"raw_{contract.source}",
        description=f"{contract.description} Loaded from {contract.landing_prefix} into {contract.raw_table}.",
        check_specs=[
            AssetCheckSpec(
                CHECK_NAME,
                asset=raw_asset_key(contract),
                description="Every file delivered in this run passes its contract.",
            )
        ],
        kinds={"python", "postgres"},
        retry_policy=TRANSIENT_RETRIES,
        hooks=step_outcome_hooks,
        # one load of a source entity at a time (instance `concurrency: pools`)
        pool=f"load_{contract.name}",
    )
    def _ingest(
        context: AssetExecutionContext,
        config: IngestConfig,
        warehouse: WarehouseResource,
        object_store: ObjectStoreResource,
    ) -> MaterializeResult:
        store = object_store.store()
        with warehouse.connect() as conn:
            ensure_raw_schema(conn, [contract])
            deliveries = _deliveries_to_load(conn, store, contract, config)
            context.log.info(f"{contract.name}: {len(deliveries)} new or changed deliver(ies)")
            results = []
            for result in (r for d in deliveries for r in load_delivery(conn, store, contract, d)):
                if result.status != WAITING:
                    results.append(result)
                if result.status == "quarantined":
                    context.log.error(
                        f"{result.file_key} quarantined, report at {store.uri(result.report_key)}: "
                        + "; ".join(
                            f"{v.rule} on {v.column or 'table'} rows {v.rows[:10]} {v.detail}".strip()
                            for v in result.violations
                        )
                    )
                else:
                    context.log.info(
                        f"{result.file_key}: {result.status}, {result.rows_loaded} rows " + "; ".join(result.notes)
                    )
        quarantined = [r for r in results if r.status == "quarantined"]
        return MaterializeResult(
            metadata={
                "files": len(results),
                "rows_loaded": sum(r.rows_loaded for r in results),
                "rows_rejected": sum(r.rows_rejected for r in results),
                "table": MetadataValue.text(contract.raw_table),
            },
            check_results=[
                AssetCheckResult(
                    check_name=CHECK_NAME,
                    passed=not quarantined,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={
                        "quarantined_files": MetadataValue.json([r.file_key for r in quarantined]),
                        "reports": MetadataValue.json([r.report_key for r in quarantined]),
                    },
                )
            ],
        )

    return _ingest


ingestion_assets = [build_ingestion_asset(contract) for contract in CONTRACTS]
