"""Container entrypoint of the Dagster and Superset images: build the database URLs from the parts ECS
injects, create what this service needs in PostgreSQL on first start, then exec the command.

ECS injects secrets from Secrets Manager as environment variables, so no password is in a task
definition, image or command line; the URLs that embed one exist only in the container's processes.

    PULSEOPS_DB_HOST, PULSEOPS_DB_PORT, PULSEOPS_DB_SSLMODE (default require)   the server
    PULSEOPS_DB_NAME        the warehouse database
    PULSEOPS_DB_USER, PULSEOPS_DB_PASSWORD   the RDS master user (Dagster tasks only) -> DATABASE_URL
    PULSEOPS_DB_SECRET_ARN  the master user's secret: read again when the injected password is refused
                            (RDS rotated it since the task started)
    PULSEOPS_METADATA_DB    Dagster's own database, created with the master user when missing
    PULSEOPS_ANALYST_PASSWORD   -> PULSEOPS_ANALYST_URI, as the read-only login pulseops_analyst
                            (Superset's warehouse connections)
    PULSEOPS_SUPERSET_DB_PASSWORD   -> SUPERSET_METADATA_URL, as the login pulseops_superset on the
                            database superset. Where the master user is present too (the Dagster code
                            server), that login and database are created, or re-keyed to the secret.

Superset holds no master credentials: its metadata login is created by the code server, which starts
first (the stack makes the Superset service depend on it; ECS restarts Superset until it can connect).

    entrypoint.py COMMAND [ARG...]      set up, then exec COMMAND
    entrypoint.py --check-database      container health check: exit 1 when the password the task
                                        started with is refused (RDS rotated it), so ECS replaces the
                                        task and the new one starts with the current secret

Variables already set are left alone. Standard library only (plus the image's PostgreSQL driver).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from urllib.parse import quote

ANALYST_LOGIN = "pulseops_analyst"
SUPERSET_LOGIN = "pulseops_superset"
SUPERSET_DATABASE = "superset"


def _driver():
    try:
        import psycopg as driver  # the Dagster image
    except ImportError:
        import psycopg2 as driver  # the Superset image
    return driver


def server_url(
    env: Mapping[str, str],
    database: str,
    scheme: str = "postgresql",
    user: str | None = None,
    password: str | None = None,
) -> str:
    """URL of `database` on the server, as the master user unless another login is given."""
    user = quote(user or env["PULSEOPS_DB_USER"], safe="")
    password = quote(password if password is not None else env["PULSEOPS_DB_PASSWORD"], safe="")
    sslmode = env.get("PULSEOPS_DB_SSLMODE", "require")
    return (
        f"{scheme}://{user}:{password}@{env['PULSEOPS_DB_HOST']}:{env.get('PULSEOPS_DB_PORT', '5432')}"
        f"/{database}?sslmode={sslmode}"
    )


def has_master(env: Mapping[str, str]) -> bool:
    return bool(env.get("PULSEOPS_DB_HOST") and env.get("PULSEOPS_DB_USER") and env.get("PULSEOPS_DB_PASSWORD"))


def derived_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The URLs this container's processes read, built from the injected parts."""
    if not env.get("PULSEOPS_DB_HOST"):
        return {}
    derived = {}
    database = env.get("PULSEOPS_DB_NAME")
    if database and has_master(env):
        derived["DATABASE_URL"] = server_url(env, database)
    if database and env.get("PULSEOPS_ANALYST_PASSWORD"):
        analyst = server_url(env, database, "postgresql+psycopg2", ANALYST_LOGIN, env["PULSEOPS_ANALYST_PASSWORD"])
        derived["PULSEOPS_ANALYST_URI"] = analyst
    if env.get("PULSEOPS_SUPERSET_DB_PASSWORD"):
        derived["SUPERSET_METADATA_URL"] = server_url(
            env, SUPERSET_DATABASE, "postgresql+psycopg2", SUPERSET_LOGIN, env["PULSEOPS_SUPERSET_DB_PASSWORD"]
        )
    return {name: value for name, value in derived.items() if not env.get(name)}


def master_connection(env: Mapping[str, str], database: str = "postgres"):
    driver = _driver()
    conn = driver.connect(
        host=env["PULSEOPS_DB_HOST"],
        port=env.get("PULSEOPS_DB_PORT", "5432"),
        user=env["PULSEOPS_DB_USER"],
        password=env["PULSEOPS_DB_PASSWORD"],
        dbname=database,
        sslmode=env.get("PULSEOPS_DB_SSLMODE", "require"),
        connect_timeout=10,
    )
    conn.autocommit = True
    return conn


def use_current_master_password(env: MutableMapping[str, str]) -> bool:
    """Re-read the master secret if the injected password is refused; True if it was re-read."""
    if not (has_master(env) and env.get("PULSEOPS_DB_SECRET_ARN")):
        return False
    from pulseops_core.db_secret import is_authentication_failure, refresh_environment  # the Dagster image

    try:
        master_connection(env).close()
        return False
    except Exception as error:  # noqa: BLE001 - the driver's OperationalError
        if not is_authentication_failure(error):
            return False  # unreachable: the command's own retries deal with it
    refresh_environment(env)
    return True


def ensure_database(env: Mapping[str, str], name: str, owner: str | None = None) -> bool:
    """Create database `name` unless it exists (RDS creates only the warehouse); True if created."""
    for identifier in (name, owner or "x"):
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", identifier):
            raise ValueError(f"not a plain name: {identifier!r}")
    driver = _driver()
    conn = master_connection(env)
    try:
        cursor = conn.cursor()
        cursor.execute("select 1 from pg_database where datname = %s", (name,))
        if cursor.fetchone():
            if owner:
                cursor.execute(f'alter database "{name}" owner to "{owner}"')
            return False
        try:
            cursor.execute(f'create database "{name}"' + (f' owner "{owner}"' if owner else ""))
        except driver.errors.DuplicateDatabase:  # another task of the stack started at the same moment
            return False
        return True
    finally:
        conn.close()


def ensure_superset_login(
    env: Mapping[str, str], password: str, login: str = SUPERSET_LOGIN, database: str = SUPERSET_DATABASE
) -> None:
    """The login pulseops_superset with the secret's password, owner of database superset; nothing more."""
    from psycopg import sql  # only the Dagster image holds the master credentials

    conn = master_connection(env)
    try:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (login,)).fetchone()
        # Attributes only on creation: a master user without SUPERUSER (RDS) may not even restate
        # NOSUPERUSER in ALTER ROLE.
        statement = (
            "alter role {} with login password {}"
            if exists
            else "create role {} with login nosuperuser nocreatedb nocreaterole noinherit password {}"
        )
        conn.execute(sql.SQL(statement).format(sql.Identifier(login), sql.Literal(password)))
        # RDS's master user is no superuser: to hand a database to a role it must be a member of it.
        conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(login)))
    finally:
        conn.close()
    ensure_database(env, database, owner=login)


def check_database(env: Mapping[str, str]) -> int:
    """Health check: 1 only when the server refuses the password this task started with."""
    if not has_master(env):
        return 0
    from pulseops_core.db_secret import is_authentication_failure  # the Dagster image

    try:
        master_connection(env).close()
    except Exception as error:  # noqa: BLE001 - the driver's OperationalError
        # An unreachable server is no reason to replace the task: a new one would not reach it either.
        return 1 if is_authentication_failure(error) else 0
    return 0


def main(argv: list[str]) -> None:
    if argv == ["--check-database"]:
        sys.exit(check_database(os.environ))
    if not argv:
        sys.exit("usage: entrypoint.py COMMAND [ARG...] | entrypoint.py --check-database")
    use_current_master_password(os.environ)
    os.environ.update(derived_environment(os.environ))
    if has_master(os.environ) and os.environ.get("PULSEOPS_METADATA_DB"):
        ensure_database(os.environ, os.environ["PULSEOPS_METADATA_DB"])
    if has_master(os.environ) and os.environ.get("PULSEOPS_SUPERSET_DB_PASSWORD"):
        ensure_superset_login(os.environ, os.environ["PULSEOPS_SUPERSET_DB_PASSWORD"])
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
