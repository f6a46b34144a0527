"""Quarantine: a readable error report beside a copy of the rejected file (or of its bad rows)."""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from ingestion.contracts import Contract
from ingestion.object_store import ObjectStore


def quarantine_prefix(contract: Contract, file_key: str) -> str:
    return f"quarantine/{contract.source}/{contract.entity}/{PurePosixPath(file_key).name}"


def write_report(store: ObjectStore, contract: Contract, result, whole_file: bool) -> str:
    """Store the report (and, for a whole-file rejection, a copy of the file) in the quarantine zone."""
    prefix = quarantine_prefix(contract, result.file_key)
    report = {
        "file": result.file_key,
        "checksum": result.checksum,
        "contract": contract.name,
        "outcome": "file rejected" if whole_file else "bad rows held back, good rows loaded",
        "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "errors": [v.as_dict() for v in result.violations],
        "rows_are": "1-based data rows; the header line is row 0",
        "rejected_rows_file": None if whole_file else f"{prefix}.rejected.csv",
    }
    report_key = f"{prefix}.report.json"
    store.put_bytes(report_key, json.dumps(report, indent=2).encode())
    return report_key


def keep_rejected_file(store: ObjectStore, contract: Contract, file_key: str, path: Path) -> None:
    store.put_file(path, quarantine_prefix(contract, file_key))


def keep_rejected_rows(store: ObjectStore, contract: Contract, file_key: str, csv_path: Path) -> None:
    store.put_file(csv_path, f"{quarantine_prefix(contract, file_key)}.rejected.csv")
