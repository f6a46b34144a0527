"""DataFrames from and into warehouse tables (the ML assets' inputs and outputs)."""

from __future__ import annotations

import io

import pandas as pd


def read_frame(conn, sql: str, params=None) -> pd.DataFrame:
    """Query into a DataFrame; numeric columns arrive as floats, not Decimal objects."""
    from psycopg.types.numeric import FloatLoader

    with conn.cursor() as cursor:
        cursor.adapters.register_loader("numeric", FloatLoader)
        cursor.execute(sql, params)
        columns = [d.name for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)


_PG_TYPE_OF_KIND = {"b": "boolean", "i": "bigint", "u": "bigint", "f": "double precision", "M": "timestamp"}


def replace_table(conn, table: str, frame: pd.DataFrame) -> None:
    """Swap `table`'s whole content for `frame` in one transaction (readers see old or new, never half)."""
    schema = table.split(".")[0]
    columns = ", ".join(f'"{name}" {_PG_TYPE_OF_KIND.get(dtype.kind, "text")}' for name, dtype in frame.dtypes.items())
    conn.execute(f"create schema if not exists {schema}")
    conn.execute(f"drop table if exists {table}")
    conn.execute(f"create table {table} ({columns})")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    with conn.cursor() as cursor, cursor.copy(f"copy {table} from stdin with (format csv)") as copy:
        copy.write(buffer.getvalue())
    conn.commit()
