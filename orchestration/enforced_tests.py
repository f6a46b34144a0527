"""Which data tests cannot fail because PostgreSQL enforces them as constraints.

Every table turns its not_null, unique, unique_combination and accepted_values tests into NOT NULL
columns, unique indexes and CHECKs as it is written (dbt_project/macros/tested_constraints.sql). A
scheduled build reads the catalog and leaves those tests out; every other build runs them all.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

# The tables a catalog query is about, given as two arrays (schemas, names).
IN_TABLES = "(n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[]))"


def _key_columns(test: Mapping) -> tuple[str, ...] | None:
    """The columns a not_null, unique, unique_combination or accepted_values test is about; None for other tests."""
    meta = test.get("test_metadata") or {}
    kwargs = meta.get("kwargs") or {}
    if meta.get("name") in ("not_null", "unique", "accepted_values"):
        return (kwargs["column_name"],)
    if meta.get("name") == "unique_combination":
        return tuple(sorted(kwargs["columns"]))
    return None


def tested_check_name(test_unique_id: str) -> str:
    """The CHECK constraint standing for an accepted_values test (macro tested_check_name)."""
    return "accepted_" + hashlib.md5(test_unique_id.encode()).hexdigest()[:20]


def tests_the_database_guarantees(conn, graph: Mapping, test_ids: Iterable[str]) -> set[str]:
    """The not_null, unique, unique_combination and accepted_values tests whose table holds the
    matching NOT NULL column, unique index or CHECK (dbt_project/macros/tested_constraints.sql):
    they cannot fail, whatever their severity or row filter, so a scheduled build leaves them out.
    Read from the catalog, so a table built without the constraint is still tested."""
    nodes = graph["nodes"]
    candidates = {}
    for uid in test_ids:
        columns = _key_columns(nodes[uid])
        model = nodes.get(nodes[uid].get("attached_node") or "")
        if columns and model:
            candidates[uid] = (model["schema"], model["alias"], nodes[uid]["test_metadata"]["name"], columns)
    if not candidates:
        return set()
    relations = sorted({(schema, table) for schema, table, _, _ in candidates.values()})
    tables = ([schema for schema, _ in relations], [table for _, table in relations])
    not_null = set(conn.execute(f"""
        select n.nspname, c.relname, a.attname
        from pg_attribute as a
        join pg_class as c on c.oid = a.attrelid
        join pg_namespace as n on n.oid = c.relnamespace
        where a.attnotnull and a.attnum > 0 and {IN_TABLES}
        """, tables).fetchall())
    unique = {(schema, table, tuple(columns)) for schema, table, columns in conn.execute(f"""
        select n.nspname, c.relname, array(
            select a.attname::text from pg_attribute as a
            where a.attrelid = i.indrelid and a.attnum = any(i.indkey) order by 1
        )
        from pg_index as i
        join pg_class as c on c.oid = i.indrelid
        join pg_namespace as n on n.oid = c.relnamespace
        where i.indisunique and i.indpred is null and i.indexprs is null
            and {IN_TABLES}
        """, tables).fetchall()}
    checks = set(conn.execute(f"""
        select n.nspname, c.relname, k.conname
        from pg_constraint as k
        join pg_class as c on c.oid = k.conrelid
        join pg_namespace as n on n.oid = c.relnamespace
        where k.contype = 'c' and k.convalidated
            and {IN_TABLES}
        """, tables).fetchall())
    return {uid for uid, (schema, table, kind, columns) in candidates.items()
            if (kind == "not_null" and (schema, table, columns[0]) in not_null)
            or (kind in ("unique", "unique_combination") and (schema, table, columns) in unique)
            or (kind == "accepted_values" and (schema, table, tested_check_name(uid)) in checks)}
