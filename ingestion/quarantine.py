"""Quarantine: a readable error report beside a copy of the rejected file (or of its bad rows)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from ingestion.contracts import Contract
from ingestion.object_store import ObjectStore

# Object names derived from a delivered file's name stay well under the 255 bytes file systems allow.
MAX_NAME_BYTES = 160


def object_name(name: str) -> str:
    """`name`, or for a very long one its start and a digest of the whole (still unique)."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    return name.encode()[:100].decode(errors="ignore") + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]


def quarantine_prefix(contract: Contract, file_key: str) -> str:
    """Beside the file's path below its landing folder, so files of one name in two folders stay apart."""
    relative = PurePosixPath(file_key.removeprefix(contract.landing_prefix))
    return f"quarantine/{contract.source}/{contract.entity}/{relative.parent / object_name(relative.name)}"


def write_report(store: ObjectStore, contract: Contract, result, whole_file: bool) -> str:
    """Store the report (and, for a whole-file rejection, a copy of the file) in the quarantine zone."""
    prefix = quarantine_prefix(contract, result.file_key)
    report = {
        "file": result.file_key,
        "checksum": result.checksum,
        "contract": contract.name,
        "outcome": "file rejected"
        if whole_file
        else ("bad rows held back, good rows loaded" if result.rows_rejected else "loaded"),
        "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "errors": [v.as_dict() for v in result.violations],
        "notes": result.notes,
        "rows_are": "1-based data rows; the header line is row 0",
        "rejected_rows_file": f"{prefix}.rejected.csv" if result.rows_rejected and not whole_file else None,
    }
    report_key = f"{prefix}.report.json"
    store.put_bytes(report_key, json.dumps(report, indent=2).encode())
    return report_key


def keep_rejected_file(store: ObjectStore, contract: Contract, file_key: str, path: Path) -> None:
    store.put_file(path, quarantine_prefix(contract, file_key))


def keep_rejected_rows(store: ObjectStore, contract: Contract, file_key: str, csv_path: Path) -> None:
    store.put_file(csv_path, f"{quarantine_prefix(contract, file_key)}.rejected.csv")
