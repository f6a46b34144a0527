"""The read-only role for SQL analysts: SELECT on the documented layers (marts, reporting), nothing else.

dbt grants SELECT on every model it builds in those layers (`+grants` in dbt_project.yml), so
rebuilt tables keep the grant; this module makes sure the role exists with a login.
"""
from __future__ import annotations

from psycopg import sql

ANALYST_ROLE = "pulseops_analyst"
READABLE_SCHEMAS = ("marts", "reporting")


def ensure_analyst_role(conn, password: str) -> None:
    """Create (or re-key) the analyst login; it may read the readable schemas and write nowhere."""
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (ANALYST_ROLE,)).fetchone()
    verb = "alter" if exists else "create"
    conn.execute(sql.SQL("{} role {} with login nosuperuser nocreatedb nocreaterole noinherit password {}").format(
        sql.SQL(verb), sql.Identifier(ANALYST_ROLE), sql.Literal(password)))
    database = conn.execute("select current_database()").fetchone()[0]
    conn.execute(sql.SQL("revoke create, temporary on database {} from public").format(sql.Identifier(database)))
    conn.execute("revoke create on schema public from public")
    for schema in READABLE_SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), sql.Identifier(ANALYST_ROLE)))
    conn.commit()
