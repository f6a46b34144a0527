"""Raw tables: rows carry their file's id; a warehouse made when rows carried the file key and
checksum is moved to file ids without losing a row or its link to the ledger."""

from __future__ import annotations

import psycopg

from ingestion.contracts import BY_NAME
from ingestion.raw_tables import ensure_raw_schema
from tests.support import throwaway_database

CLIENTS = BY_NAME["psa__clients"]


def _columns(conn, table: str) -> list[str]:
    schema, name = table.split(".")
    return [
        c
        for (c,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position",
            (schema, name),
        )
    ]


def test_rows_keyed_by_file_key_move_to_file_ids():
    with throwaway_database() as url, psycopg.connect(url) as conn:
        conn.execute("create schema raw")
        conn.execute("""create table raw._ingestion_ledger (
            file_key text primary key, source text not null, entity text not null, checksum text not null,
            object_version text, status text not null, rows_in bigint not null, rows_loaded bigint not null,
            rows_rejected bigint not null, error_summary text, report_key text, parquet_key text,
            loaded_at timestamptz not null)""")
        conn.execute("""create table raw.psa__clients (client_id text, client_name text,
            _file_key text not null, _file_checksum text not null, _loaded_at timestamptz not null default now())""")
        for key, clients in (("landing/psa/clients/a.csv", ["C1", "C2"]), ("landing/psa/clients/b.csv", ["C3"])):
            conn.execute(
                "insert into raw._ingestion_ledger values (%s, 'psa', 'clients', 'sum', null, 'loaded', "
                "%s, %s, 0, null, null, null, now())",
                (key, len(clients), len(clients)),
            )
            for client in clients:
                conn.execute(
                    "insert into raw.psa__clients (client_id, client_name, _file_key, _file_checksum) "
                    "values (%s, 'x', %s, 'sum')",
                    (client, key),
                )
        conn.commit()

        ensure_raw_schema(conn, [CLIENTS])
        ensure_raw_schema(conn, [CLIENTS])  # a second start changes nothing

        columns = _columns(conn, "raw.psa__clients")
        assert "_file_key" not in columns and "_file_checksum" not in columns and "_file_id" in columns
        rows = conn.execute(
            "select file_key, client_id from raw.psa__clients join raw._ingestion_ledger "
            "on file_id = _file_id order by client_id"
        ).fetchall()
        assert rows == [
            ("landing/psa/clients/a.csv", "C1"),
            ("landing/psa/clients/a.csv", "C2"),
            ("landing/psa/clients/b.csv", "C3"),
        ]
        assert conn.execute("select count(distinct file_id) from raw._ingestion_ledger").fetchone()[0] == 2


def test_new_rows_take_the_file_id_of_their_load():
    with throwaway_database() as url, psycopg.connect(url) as conn:
        ensure_raw_schema(conn, [CLIENTS])
        conn.execute("select set_config('pulseops.file_id', '41', true)")
        conn.execute("insert into raw.psa__clients (client_id) values ('C9')")
        assert conn.execute("select _file_id, _loaded_at is not null from raw.psa__clients").fetchall() == [(41, True)]
        assert _columns(conn, "raw.psa__clients")[-2:] == ["_file_id", "_loaded_at"]
