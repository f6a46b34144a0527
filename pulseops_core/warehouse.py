"""The warehouse connection: DATABASE_URL when set, otherwise the embedded PostgreSQL."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote, urlsplit

from pulseops_core import db_secret, embedded_postgres
from pulseops_core.settings import Settings


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
