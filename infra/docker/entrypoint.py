"""Container entrypoint of the Dagster and Superset images: build the database URLs from the parts ECS
injects, create this service's own database on first start, then exec the command.

RDS keeps the master credentials in Secrets Manager and ECS injects them as environment variables, so
the password is in no task definition, image or command line; the URLs that embed it exist only in
the processes of the container.

    PULSEOPS_DB_HOST, PULSEOPS_DB_PORT, PULSEOPS_DB_USER, PULSEOPS_DB_PASSWORD   the server
    PULSEOPS_DB_SSLMODE    libpq sslmode (default require)
    PULSEOPS_DB_NAME       the warehouse -> DATABASE_URL, and PULSEOPS_WAREHOUSE_URI for Superset
    PULSEOPS_METADATA_DB   the service's own database (Dagster storage, Superset metadata), created
                           when missing -> SUPERSET_METADATA_URL

Variables already set are left alone. Standard library only (plus the image's PostgreSQL driver).
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from urllib.parse import quote


def server_url(env: Mapping[str, str], database: str, scheme: str = "postgresql") -> str:
    user, password = quote(env["PULSEOPS_DB_USER"], safe=""), quote(env["PULSEOPS_DB_PASSWORD"], safe="")
    sslmode = env.get("PULSEOPS_DB_SSLMODE", "require")
    return (f"{scheme}://{user}:{password}@{env['PULSEOPS_DB_HOST']}:{env.get('PULSEOPS_DB_PORT', '5432')}"
            f"/{database}?sslmode={sslmode}")


def derived_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The URLs this container's processes read, built from the injected parts."""
    if not env.get("PULSEOPS_DB_HOST"):
        return {}
    derived = {}
    if env.get("PULSEOPS_DB_NAME"):
        derived["DATABASE_URL"] = server_url(env, env["PULSEOPS_DB_NAME"])
        derived["PULSEOPS_WAREHOUSE_URI"] = server_url(env, env["PULSEOPS_DB_NAME"], "postgresql+psycopg2")
    if env.get("PULSEOPS_METADATA_DB"):
        derived["SUPERSET_METADATA_URL"] = server_url(env, env["PULSEOPS_METADATA_DB"], "postgresql+psycopg2")
    return {name: value for name, value in derived.items() if not env.get(name)}


def ensure_database(env: Mapping[str, str], name: str) -> bool:
    """Create database `name` unless it exists (RDS creates only the warehouse); True if created."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")
    try:
        import psycopg as driver  # the Dagster image
    except ImportError:
        import psycopg2 as driver  # the Superset image
    conn = driver.connect(host=env["PULSEOPS_DB_HOST"], port=env.get("PULSEOPS_DB_PORT", "5432"),
                          user=env["PULSEOPS_DB_USER"], password=env["PULSEOPS_DB_PASSWORD"], dbname="postgres",
                          sslmode=env.get("PULSEOPS_DB_SSLMODE", "require"))
    conn.autocommit = True
    try:
        cursor = conn.cursor()
        cursor.execute("select 1 from pg_database where datname = %s", (name,))
        if cursor.fetchone():
            return False
        try:
            cursor.execute(f'create database "{name}"')
        except driver.errors.DuplicateDatabase:  # another task of the stack started at the same moment
            return False
        return True
    finally:
        conn.close()


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: entrypoint.py COMMAND [ARG...]")
    os.environ.update(derived_environment(os.environ))
    if os.environ.get("PULSEOPS_DB_HOST") and os.environ.get("PULSEOPS_METADATA_DB"):
        ensure_database(os.environ, os.environ["PULSEOPS_METADATA_DB"])
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
