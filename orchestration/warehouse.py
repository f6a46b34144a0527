"""The warehouse connection: DATABASE_URL when set, otherwise the embedded PostgreSQL."""
from __future__ import annotations

import io
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import pandas as pd

from orchestration import db_secret, embedded_postgres
from orchestration.settings import Settings


@lru_cache(maxsize=8)
def _resolve(database_url: str | None, state_dir: str, secrets_dir: str) -> str:
    if database_url:
        return database_url
    from pathlib import Path

    return embedded_postgres.ensure_running(Path(state_dir), Path(secrets_dir)).url


def resolve_database_url(settings: Settings) -> str:
    """The warehouse URL (plain postgresql://), starting the embedded server when needed."""
    url = _resolve(settings.database_url, str(settings.state_dir), str(settings.secrets_dir))
    # On AWS, RDS rotates the master password: a refused one is read again from Secrets Manager.
    return db_secret.current_url(url)


def libpq_url(url: str) -> str:
    """psycopg wants postgresql://; SQLAlchemy-style URLs may carry a driver suffix."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def dbt_environment(url: str) -> dict[str, str]:
    """Environment variables read by dbt_project/profiles.yml."""
    parts = urlsplit(libpq_url(url))
    return {
        "PULSEOPS_PG_HOST": parts.hostname or "127.0.0.1",
        "PULSEOPS_PG_PORT": str(parts.port or 5432),
        "PULSEOPS_PG_USER": unquote(parts.username or "postgres"),
        "PULSEOPS_PG_PASSWORD": unquote(parts.password or ""),
        "PULSEOPS_PG_DATABASE": parts.path.lstrip("/") or "postgres",
    }


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
    columns = ", ".join(
        f'"{name}" {_PG_TYPE_OF_KIND.get(dtype.kind, "text")}' for name, dtype in frame.dtypes.items())
    conn.execute(f"create schema if not exists {schema}")
    conn.execute(f"drop table if exists {table}")
    conn.execute(f"create table {table} ({columns})")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    with conn.cursor() as cursor:
        with cursor.copy(f"copy {table} from stdin with (format csv)") as copy:
            copy.write(buffer.getvalue())
    conn.commit()
