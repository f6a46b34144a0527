"""The warehouse logins Superset uses, and what PostgreSQL lets each of them do.

- `pulseops_analyst`: reads the documented layers (marts, reporting) and nothing else; the
  dashboards of the MSP, IT and data-health roles and SQL Lab connect with it.
- one login per client viewer (`pulseops_cv_...`, made by superset_config/client_logins.py): a
  member of `pulseops_client_viewer`, which may read the client-scoped tables of marts and
  reporting, and only the rows of the clients listed for that login in
  `pulseops_security.client_viewer_logins`. dbt enables the row-level security policies on every
  table with a `client_id` column (macros/client_rows_only.sql). The policies look the login up
  by `session_user`, which no SQL a session runs can change (SET ROLE, set_config and RESET
  change only `current_user`), so a client's session reads its own rows whatever SQL reaches it.

Every one of them is read-only, has a statement timeout and a connection limit, cannot create
anything or read `raw`, `staging`, `intermediate` or `ml`, and cannot call the functions that write
large objects (allowed even in read-only transactions), sleep, or run a query given as text. dbt
grants SELECT on each model it builds in marts and reporting (`+grants` and the row-security
post-hook), so rebuilt tables keep their grants; this module makes sure the roles exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

ANALYST_ROLE = "pulseops_analyst"
CLIENT_VIEWER_ROLE = "pulseops_client_viewer"
SECURITY_SCHEMA = "pulseops_security"
READABLE_SCHEMAS = ("marts", "reporting")
# Bounded sessions: a dashboard query never needs a minute, and a runaway or hostile one is stopped.
SESSION_SETTINGS = {
    "default_transaction_read_only": "on",
    "statement_timeout": "60s",
    "idle_in_transaction_session_timeout": "60s",
}
# PostgreSQL lets every role call these; no dashboard or analyst needs them. Large objects can be
# written even in a read-only transaction; the others run a query given as text or sleep.
REFUSED_FUNCTIONS = (
    "lo_create",
    "lo_creat",
    "lo_from_bytea",
    "lo_import",
    "lo_export",
    "lo_open",
    "lo_put",
    "lowrite",
    "lo_truncate",
    "lo_truncate64",
    "lo_unlink",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "table_to_xml",
    "table_to_xmlschema",
    "table_to_xml_and_xmlschema",
    "schema_to_xml",
    "schema_to_xmlschema",
    "schema_to_xml_and_xmlschema",
    "database_to_xml",
    "database_to_xmlschema",
    "database_to_xml_and_xmlschema",
    "ts_stat",
    "ts_rewrite",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
)
# Superset opens one connection per chart query (gunicorn threads bound how many run at once).
ANALYST_CONNECTION_LIMIT = 40
CLIENT_LOGIN_CONNECTION_LIMIT = 10


def ensure_superset_logins(conn, analyst_password: str) -> None:
    """Create (or re-key) the analyst login and the client viewers' group; safe to run again."""
    database = conn.execute("select current_database()").fetchone()[0]
    conn.execute(sql.SQL("revoke create, temporary on database {} from public").format(sql.Identifier(database)))
    conn.execute("revoke create on schema public from public")
    _refuse_functions(conn)
    _ensure_login(conn, ANALYST_ROLE, analyst_password, ANALYST_CONNECTION_LIMIT)
    _ensure_role(conn, CLIENT_VIEWER_ROLE)
    for schema in READABLE_SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("grant usage on schema {} to {}, {}").format(
                sql.Identifier(schema), sql.Identifier(ANALYST_ROLE), sql.Identifier(CLIENT_VIEWER_ROLE)
            )
        )
    _ensure_client_directory(conn)
    conn.commit()


def ensure_client_login(conn, login: str, password: str, superset_username: str, client_ids: Iterable[str]) -> None:
    """A client viewer's own login, which sees the rows of `client_ids` (added to any it had)."""
    _ensure_login(conn, login, password, CLIENT_LOGIN_CONNECTION_LIMIT)
    conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(CLIENT_VIEWER_ROLE), sql.Identifier(login)))
    with conn.cursor() as cursor:
        cursor.executemany(
            f"insert into {SECURITY_SCHEMA}.client_viewer_logins (login, client_id, superset_username) "
            "values (%s, %s, %s) on conflict (login, client_id) do nothing",
            [(login, client_id, superset_username) for client_id in client_ids],
        )
    conn.commit()


def _refuse_functions(conn) -> None:
    """Revoke REFUSED_FUNCTIONS from PUBLIC in this database (the owner keeps them).

    A managed server's administrator (RDS, Cloud SQL) does not own pg_catalog's functions and may
    not revoke them: then row-level security and read-only sessions remain the guard.
    """
    signatures = conn.execute(
        "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = 'pg_catalog' and p.proname = any(%s)",
        (list(REFUSED_FUNCTIONS),),
    ).fetchall()
    try:
        with conn.transaction():
            for (signature,) in signatures:
                conn.execute(f"revoke execute on function {signature} from public")
    except psycopg.errors.InsufficientPrivilege as error:
        log.warning(
            "cannot revoke functions that write or run text as SQL (%s); "
            "row-level security and read-only sessions still apply",
            error.diag.message_primary,
        )


def _ensure_role(conn, name: str) -> None:
    if not conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(name)))


def _ensure_login(conn, name: str, password: str, connection_limit: int) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone() is not None
    # Privileges are denied when the login is made: a managed server's administrator (RDS) may not
    # restate SUPERUSER or BYPASSRLS later, not even to deny them.
    attributes = "login" if exists else "login nosuperuser nocreatedb nocreaterole nobypassrls inherit"
    conn.execute(
        sql.SQL("{} role {} with {} connection limit {} password {}").format(
            sql.SQL("alter" if exists else "create"),
            sql.Identifier(name),
            sql.SQL(attributes),
            sql.Literal(connection_limit),
            sql.Literal(password),
        )
    )
    for setting, value in SESSION_SETTINGS.items():
        conn.execute(
            sql.SQL("alter role {} set {} = {}").format(
                sql.Identifier(name), sql.Identifier(setting), sql.Literal(value)
            )
        )


def _ensure_client_directory(conn) -> None:
    """Which clients each client login sees; a login reads only its own entries, through a view."""
    schema = sql.Identifier(SECURITY_SCHEMA)
    conn.execute(sql.SQL("create schema if not exists {}").format(schema))
    conn.execute(
        sql.SQL(
            "create table if not exists {}.client_viewer_logins ("
            " login name not null, client_id text not null, superset_username text not null,"
            " primary key (login, client_id))"
        ).format(schema)
    )
    # security_barrier: a caller's own functions in a WHERE on the view run only on its own rows.
    conn.execute(
        sql.SQL(
            "create or replace view {schema}.my_clients with (security_barrier) as"
            " select client_id from {schema}.client_viewer_logins where login = session_user"
        ).format(schema=schema)
    )
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, sql.Identifier(CLIENT_VIEWER_ROLE)))
    conn.execute(sql.SQL("grant select on {}.my_clients to {}").format(schema, sql.Identifier(CLIENT_VIEWER_ROLE)))
