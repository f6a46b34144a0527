"""RMM (remote monitoring and management) exports: the state of each client's managed estate."""

from ingestion.contracts.model import Contract, col

CONTRACTS = (
    Contract(
        "rmm",
        "device_snapshots",
        (
            col("client_id", "text"),
            col("snapshot_date", "date"),
            col("managed_endpoints", "integer", minimum=0),
            col("patch_compliance_pct", "numeric", minimum=0, maximum=100),
            col("backup_success_pct", "numeric", required=False, minimum=0, maximum=100),  # empty without backup
        ),
        key=("client_id", "snapshot_date"),
        expected_cadence_hours=24,
        description="Daily per-client counts of managed endpoints, patch compliance and backup success.",
    ),
)
