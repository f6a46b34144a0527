"""Landing -> raw: validate a delivered file, keep it, write Parquet to the raw zone, COPY it into
Postgres `raw`, and record the outcome in the ingestion ledger.

Idempotent: a file whose checksum was already handled is skipped; a corrected re-delivery under the
same key replaces its earlier rows in the same transaction that records it in the ledger.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingestion.contracts import PG_TYPES, Contract
from ingestion.object_store import ObjectStore, StoredObject, sha256_of
from ingestion.typed_read import apply_contract_types, read_source_file
from ingestion.validation import RuleViolation, validate_frame

LEDGER = "raw._ingestion_ledger"
LOAD_COLUMNS = ("_file_key", "_file_checksum", "_loaded_at")


@dataclass
class LoadResult:
    file_key: str
    status: str  # loaded | unchanged | quarantined
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    checksum: str = ""
    object_version: str = ""
    report_key: str | None = None
    violations: list[RuleViolation] = field(default_factory=list)


def ensure_raw_schema(conn, contracts) -> None:
    conn.execute("create schema if not exists raw")
    conn.execute(f"""
        create table if not exists {LEDGER} (
            file_key text primary key,
            source text not null,
            entity text not null,
            checksum text not null,
            status text not null,
            rows_in bigint not null,
            rows_loaded bigint not null,
            rows_rejected bigint not null,
            report_key text,
            parquet_key text,
            object_version text,
            loaded_at timestamptz not null
        )""")
    for contract in contracts:
        columns = ", ".join(f'"{c.name}" {PG_TYPES[c.type]}' for c in contract.columns)
        conn.execute(f"""
            create table if not exists {contract.raw_table} (
                {columns},
                _file_key text not null,
                _file_checksum text not null,
                _loaded_at timestamptz not null
            )""")
        conn.execute(f"create index if not exists {contract.name}__file_key on {contract.raw_table} (_file_key)")
    conn.commit()


def _already_handled(conn, file_key: str, checksum: str, version: str) -> bool:
    row = conn.execute(f"select checksum from {LEDGER} where file_key = %s", (file_key,)).fetchone()
    if row is not None and row[0] == checksum:
        # Same content touched again: remember its new version so listing skips it next time.
        conn.execute(f"update {LEDGER} set object_version = %s where file_key = %s", (version, file_key))
        conn.commit()
        return True
    return False


def _record(conn, contract: Contract, result: LoadResult, parquet_key: str | None, loaded_at) -> None:
    conn.execute(f"""
        insert into {LEDGER} (file_key, source, entity, checksum, status, rows_in, rows_loaded,
                              rows_rejected, report_key, parquet_key, object_version, loaded_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (file_key) do update set
            checksum = excluded.checksum, status = excluded.status, rows_in = excluded.rows_in,
            rows_loaded = excluded.rows_loaded, rows_rejected = excluded.rows_rejected,
            report_key = excluded.report_key, parquet_key = excluded.parquet_key,
            object_version = excluded.object_version, loaded_at = excluded.loaded_at""",
        (result.file_key, contract.source, contract.entity, result.checksum, result.status, result.rows_in,
         result.rows_loaded, result.rows_rejected, result.report_key, parquet_key, result.object_version, loaded_at))


def _quarantine(store: ObjectStore, contract: Contract, result: LoadResult) -> str:
    name = PurePosixPath(result.file_key).name
    report_key = f"quarantine/{contract.source}/{contract.entity}/{name}.report.json"
    report = {
        "file": result.file_key,
        "checksum": result.checksum,
        "contract": contract.name,
        "rows_in": result.rows_in,
        "errors": [v.as_dict() for v in result.violations],
        "note": "rows are 1-based data rows; the header line is row 0",
    }
    store.put_bytes(report_key, json.dumps(report, indent=2).encode())
    return report_key


def _to_arrow(contract: Contract, typed: pd.DataFrame, result: LoadResult, loaded_at) -> pa.Table:
    frame = typed[[c.name for c in contract.columns]].copy()
    frame["_file_key"] = result.file_key
    frame["_file_checksum"] = result.checksum
    frame["_loaded_at"] = loaded_at
    return pa.Table.from_pandas(frame, preserve_index=False)


def _copy_into(conn, contract: Contract, table: pa.Table) -> None:
    columns = ", ".join(f'"{name}"' for name in table.column_names)
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
    with conn.cursor() as cursor:
        with cursor.copy(f"copy {contract.raw_table} ({columns}) from stdin with (format csv)") as copy:
            copy.write(buffer.getvalue())


def load_file(conn, store: ObjectStore, contract: Contract, stored: StoredObject) -> LoadResult:
    """Ingest one landing object. Never raises for bad content: the result says what happened."""
    file_key = stored.key
    with store.local_copy(file_key) as path:
        checksum = sha256_of(path)
        if _already_handled(conn, file_key, checksum, stored.version):
            return LoadResult(file_key, "unchanged", checksum=checksum, object_version=stored.version)
        frame = read_source_file(path)
    result = LoadResult(file_key, "loaded", rows_in=len(frame), checksum=checksum, object_version=stored.version)
    frame.columns = [c.strip() for c in frame.columns]
    frame = frame.rename(columns={c.source_name: c.name for c in contract.columns})
    typed, violations = apply_contract_types(contract, frame)
    violations += validate_frame(contract, typed)
    loaded_at = datetime.now(timezone.utc)
    if violations:
        result.status, result.violations, result.rows_rejected = "quarantined", violations, len(frame)
        result.report_key = _quarantine(store, contract, result)
        _record(conn, contract, result, None, loaded_at)
        conn.commit()
        return result

    table = _to_arrow(contract, typed, result, loaded_at)
    parquet_key = (f"raw/{contract.source}/{contract.entity}/load_date={loaded_at.date().isoformat()}/"
                   f"{PurePosixPath(file_key).name}.{checksum[:12]}.parquet")
    parquet = io.BytesIO()
    pq.write_table(table, parquet, compression="zstd")
    store.put_bytes(parquet_key, parquet.getvalue())
    # One transaction: the earlier delivery's rows go, the new rows and the ledger row arrive.
    conn.execute(f"delete from {contract.raw_table} where _file_key = %s", (file_key,))
    _copy_into(conn, contract, table)
    result.rows_loaded = table.num_rows
    _record(conn, contract, result, parquet_key, loaded_at)
    conn.commit()
    return result


def pending_files(conn, store: ObjectStore, contract: Contract) -> list[StoredObject]:
    """Landing objects of this contract that are new or changed since the ledger last saw them."""
    seen = set(conn.execute(f"select file_key, object_version from {LEDGER} where source = %s and entity = %s",
                            (contract.source, contract.entity)).fetchall())
    conn.rollback()
    return [o for o in store.list(contract.landing_prefix)
            if (o.key, o.version) not in seen and not o.key.endswith(".partial")]
