"""The `raw` schema: one append-only table per contract, and the ingestion ledger.

Load metadata columns default to per-transaction settings, so a delivered CSV can be streamed
into COPY unchanged and still carry its file key and checksum on every row.
"""
from __future__ import annotations

from ingestion.contracts import EXTRAS_COLUMN, PG_TYPES, Contract

LEDGER = "raw._ingestion_ledger"
LOAD_METADATA = ("_file_key", "_file_checksum", "_loaded_at")


def _columns(contract: Contract) -> list[tuple[str, str]]:
    columns = [(c.name, PG_TYPES[c.type]) for c in contract.columns]
    if contract.keep_extra_prefix:
        columns.append((EXTRAS_COLUMN, "jsonb"))
    return columns


def ensure_raw_schema(conn, contracts) -> None:
    """Create what is missing; a column added to a contract is added to its table."""
    conn.execute("create schema if not exists raw")
    conn.execute(f"""
        create table if not exists {LEDGER} (
            file_key text primary key,
            source text not null,
            entity text not null,
            checksum text not null,
            object_version text,
            status text not null,
            rows_in bigint not null,
            rows_loaded bigint not null,
            rows_rejected bigint not null,
            error_summary text,
            report_key text,
            parquet_key text,
            loaded_at timestamptz not null
        )""")
    for contract in contracts:
        columns = ", ".join(f'"{name}" {type_}' for name, type_ in _columns(contract))
        conn.execute(f"""
            create table if not exists {contract.raw_table} (
                {columns},
                _file_key text not null default current_setting('pulseops.file_key'),
                _file_checksum text not null default current_setting('pulseops.file_checksum'),
                _loaded_at timestamptz not null default now()
            )""")
        for name, type_ in _columns(contract):
            conn.execute(f'alter table {contract.raw_table} add column if not exists "{name}" {type_}')
        # No index: it would slow every COPY several fold to speed up only the rare re-delivery.
    conn.commit()


def begin_file_load(conn, contract: Contract, file_key: str, checksum: str) -> None:
    """Inside the load's transaction: drop an earlier delivery's rows, stamp the new ones."""
    conn.execute(f"delete from {contract.raw_table} where _file_key = %s", (file_key,))
    conn.execute("select set_config('pulseops.file_key', %s, true), set_config('pulseops.file_checksum', %s, true)",
                 (file_key, checksum))


def record_in_ledger(conn, contract: Contract, result, parquet_key: str | None, loaded_at) -> None:
    conn.execute(f"""
        insert into {LEDGER} (file_key, source, entity, checksum, object_version, status, rows_in, rows_loaded,
                              rows_rejected, error_summary, report_key, parquet_key, loaded_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (file_key) do update set
            checksum = excluded.checksum, object_version = excluded.object_version, status = excluded.status,
            rows_in = excluded.rows_in, rows_loaded = excluded.rows_loaded, rows_rejected = excluded.rows_rejected,
            error_summary = excluded.error_summary, report_key = excluded.report_key,
            parquet_key = excluded.parquet_key, loaded_at = excluded.loaded_at""",
        (result.file_key, contract.source, contract.entity, result.checksum, result.object_version, result.status,
         result.rows_in, result.rows_loaded, result.rows_rejected, result.error_summary or None, result.report_key,
         parquet_key, loaded_at))


def ledger_checksum(conn, file_key: str) -> str | None:
    row = conn.execute(f"select checksum from {LEDGER} where file_key = %s", (file_key,)).fetchone()
    return row[0] if row else None


def remember_version(conn, file_key: str, version: str) -> None:
    conn.execute(f"update {LEDGER} set object_version = %s where file_key = %s", (version, file_key))
    conn.commit()


def seen_versions(conn, contract: Contract) -> set[tuple[str, str]]:
    rows = conn.execute(f"select file_key, object_version from {LEDGER} where source = %s and entity = %s",
                        (contract.source, contract.entity)).fetchall()
    conn.rollback()
    return set(rows)
