"""The `raw` schema: one append-only table per contract, and the ingestion ledger.

Every raw row carries the id of the file it came from (`_file_id`, the ledger's `file_id`, where
the file's key, checksum and report are) and when it was loaded (`_loaded_at`). Both default to
per-transaction settings, so a delivered CSV can be streamed into COPY unchanged. Eight bytes of
file id rather than the key and checksum on every row keep a narrow table narrow: COPY time
follows the bytes written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg.rows

from ingestion.contracts import EXTRAS_COLUMN, PG_TYPES, Contract

log = logging.getLogger(__name__)

DDL_LOCK_TIMEOUT = "10s"
LEDGER = "raw._ingestion_ledger"
FILE_IDS = "raw._ingestion_file_id"
LOAD_METADATA = ("_file_id", "_loaded_at")


def _columns(contract: Contract) -> list[tuple[str, str]]:
    columns = [(c.name, PG_TYPES[c.type]) for c in contract.columns]
    if contract.keeps_extra_columns:
        columns.append((EXTRAS_COLUMN, "jsonb"))
    return columns


def ensure_raw_schema(conn, contracts) -> None:
    """Create what is missing; a column added to a contract is added to its table."""
    conn.execute("create schema if not exists raw")
    conn.execute(f"create sequence if not exists {FILE_IDS}")
    conn.execute(f"""
        create table if not exists {LEDGER} (
            file_key text primary key,
            file_id bigint unique,
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
    conn.execute(f"alter table {LEDGER} add column if not exists file_id bigint unique")
    conn.execute(f"update {LEDGER} set file_id = nextval('{FILE_IDS}') where file_id is null")
    for contract in contracts:
        columns = ", ".join(f'"{name}" {type_}' for name, type_ in _columns(contract))
        conn.execute(f"""
            create table if not exists {contract.raw_table} (
                {columns},
                _file_id bigint not null default current_setting('pulseops.file_id')::bigint,
                _loaded_at timestamptz not null default now()
            )""")
        present = {
            name
            for (name,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s",
                (contract.name,),
            )
        }
        for name, type_ in _columns(contract):
            if name not in present:
                # ALTER TABLE waits for every reader of the table (a long dashboard query) and holds
                # up every query behind it: only when a column is really missing, and not for long.
                conn.execute(f"set local lock_timeout = '{DDL_LOCK_TIMEOUT}'")
                conn.execute(f'alter table {contract.raw_table} add column if not exists "{name}" {type_}')
        _lift_numeric_scale_cap(conn, contract)
        _move_to_file_ids(conn, contract)
        # No index: it would slow every COPY several fold to speed up only the rare re-delivery.
    conn.commit()


def _move_to_file_ids(conn, contract: Contract) -> None:
    """Tables made before rows carried a file id had the file's key and checksum on every row."""
    table = contract.raw_table
    had_keys = conn.execute(
        "select 1 from information_schema.columns where table_schema || '.' || table_name = %s "
        "and column_name = '_file_key'",
        (table,),
    ).fetchone()
    if not had_keys:
        return
    conn.execute(f"alter table {table} add column if not exists _file_id bigint")
    conn.execute(f"update {table} as r set _file_id = l.file_id from {LEDGER} as l where l.file_key = r._file_key")
    conn.execute(
        f"alter table {table} drop column _file_key, drop column if exists _file_checksum, "
        "alter column _file_id set not null, "
        "alter column _file_id set default current_setting('pulseops.file_id')::bigint"
    )


def _lift_numeric_scale_cap(conn, contract: Contract) -> None:
    """Tables made when amounts were numeric(18,4) take any scale from now on. PostgreSQL refuses
    while views read the column (dbt's staging views): then the cap stays, and the log says how to
    lift it."""
    capped = [
        name
        for (name,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s"
            " and data_type = 'numeric' and numeric_scale is not null",
            (contract.name,),
        )
    ]
    if not capped:
        return
    try:
        with conn.transaction():
            for name in capped:
                conn.execute(f'alter table {contract.raw_table} alter column "{name}" type numeric')
    except (psycopg.errors.FeatureNotSupported, psycopg.errors.DependentObjectsStillExist):
        log.warning(
            "%s keeps numeric(18,4) in %s while views read it: to lift it, `drop schema staging "
            "cascade` and run the pipeline (dbt recreates the views)",
            contract.raw_table,
            capped,
        )


def new_file_id(conn) -> int:
    return conn.execute(f"select nextval('{FILE_IDS}')").fetchone()[0]


@contextmanager
def file_lock(conn, file_key: str) -> Iterator[None]:
    """Only one load of a landing object at a time, whoever starts it (sensor, Lambda, CLI, two
    runs at once): PostgreSQL holds the lock for the session, across the load's rollbacks, and lets
    it go if the process dies. Whoever comes second reads the ledger after the first committed."""
    conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (file_key,))
    conn.commit()
    try:
        yield
    finally:
        if not conn.closed:
            conn.rollback()
            conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (file_key,))
            conn.commit()


def forget_earlier_delivery(conn, contract: Contract, file_key: str) -> None:
    """Inside the load's transaction: drop the rows of the earlier delivery under the same key."""
    conn.execute(
        f"delete from {contract.raw_table} where _file_id = (select file_id from {LEDGER} where file_key = %s)",
        (file_key,),
    )


def begin_file_load(conn, contract: Contract, file_key: str, file_id: int) -> None:
    """Inside the load's transaction: drop an earlier delivery's rows, stamp the new ones."""
    forget_earlier_delivery(conn, contract, file_key)
    conn.execute("select set_config('pulseops.file_id', %s, true)", (str(file_id),))


def record_in_ledger(
    conn, contract: Contract, result, parquet_key: str | None, loaded_at, file_id: int | None = None
) -> None:
    """One row per file key: what the table holds of it."""
    conn.execute(
        f"""
        insert into {LEDGER} (file_key, file_id, source, entity, checksum, object_version, status, rows_in,
                              rows_loaded, rows_rejected, error_summary, report_key, parquet_key, loaded_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (file_key) do update set
            file_id = coalesce(excluded.file_id, {LEDGER}.file_id),
            checksum = excluded.checksum, object_version = excluded.object_version, status = excluded.status,
            rows_in = excluded.rows_in, rows_loaded = excluded.rows_loaded, rows_rejected = excluded.rows_rejected,
            error_summary = excluded.error_summary, report_key = excluded.report_key,
            parquet_key = excluded.parquet_key, loaded_at = excluded.loaded_at""",
        (
            result.file_key,
            file_id,
            contract.source,
            contract.entity,
            result.checksum,
            result.object_version,
            result.status,
            result.rows_in,
            result.rows_loaded,
            result.rows_rejected,
            result.error_summary or None,
            result.report_key,
            parquet_key,
            loaded_at,
        ),
    )


def ledger_entry(conn, file_key: str) -> dict | None:
    """What the ledger says of a file key: checksum, status, row counts, report."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            f"select checksum, status, rows_in, rows_loaded, rows_rejected, report_key from {LEDGER} "
            "where file_key = %s",
            (file_key,),
        ).fetchone()


def remember_version(conn, file_key: str, version: str) -> None:
    conn.execute(f"update {LEDGER} set object_version = %s where file_key = %s", (version, file_key))
    conn.commit()


def seen_versions(conn, contract: Contract) -> set[tuple[str, str]]:
    rows = conn.execute(
        f"select file_key, object_version from {LEDGER} where source = %s and entity = %s",
        (contract.source, contract.entity),
    ).fetchall()
    conn.rollback()
    return set(rows)
