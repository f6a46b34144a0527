"""What a scheduled dbt build has to rebuild: the nodes downstream of sources that received data.

After every complete build the warehouse keeps, per raw source, the newest ingestion-ledger load
the build had in front of it. The next scheduled build rebuilds only what lies downstream of
sources loaded since (and of the ML and pipeline sources, which change on every run), with their
tests; models over unchanged sources already hold what a rebuild would write. A changed dbt
project (models, macros, seeds, vars) invalidates every watermark: the next build is complete.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from ingestion.contracts import CONTRACTS
from ingestion.raw_tables import LEDGER

WATERMARKS = "raw._dbt_build_watermarks"
# Folders whose files decide what the build writes; target/ and logs/ are its output.
PROJECT_INPUTS = ("models", "macros", "seeds", "tests", "dbt_project.yml")
# Rebuilt on every run: they join the ML scores, which every pipeline run refreshes.
ALWAYS_REBUILT_PATH = "models/reporting/"


def project_fingerprint(project_dir: Path) -> str:
    """A hash of every file that shapes the build, so deploying a change triggers a complete build."""
    digest = hashlib.sha256()
    for name in PROJECT_INPUTS:
        root = project_dir / name
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root] * root.is_file()
        for path in files:
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_watermarks(conn) -> None:
    conn.execute(f"""
        create table if not exists {WATERMARKS} (
            run_id text not null,
            project_fingerprint text not null,
            source_name text not null,
            loaded_through timestamptz not null,
            recorded_at timestamptz not null default now(),
            primary key (run_id, source_name)
        )""")


def ledger_snapshot(conn) -> dict[str, datetime]:
    """The newest load of each raw source, named as in dbt (`<source>__<entity>`)."""
    if conn.execute("select to_regclass(%s)", (LEDGER,)).fetchone()[0] is None:
        return {}
    rows = conn.execute(f"select source || '__' || entity, max(loaded_at) from {LEDGER} group by 1").fetchall()
    return dict(rows)


def sources_loaded_since_last_build(conn, run_id: str, fingerprint: str,
                                    snapshot: Mapping[str, datetime]) -> set[str] | None:
    """Raw sources with loads newer than the last complete build; None when no build of this
    project is on record (everything must be built).

    Watermarks of the current run are left out: the reporting step of a run sees what its first step saw."""
    ensure_watermarks(conn)
    built = dict(conn.execute(
        f"select source_name, max(loaded_through) from {WATERMARKS} "
        "where run_id <> %s and project_fingerprint = %s group by 1", (run_id, fingerprint)).fetchall())
    if not built:
        return None
    return {name for name, loaded in snapshot.items() if name not in built or loaded > built[name]}


def record_build(conn, run_id: str, fingerprint: str, snapshot: Mapping[str, datetime]) -> None:
    """Note what a complete, successful build had in front of it (taken before it started)."""
    ensure_watermarks(conn)
    with conn.cursor() as cursor:
        cursor.executemany(
            f"insert into {WATERMARKS} (run_id, project_fingerprint, source_name, loaded_through) "
            "values (%s, %s, %s, %s) on conflict (run_id, source_name) do update "
            "set project_fingerprint = excluded.project_fingerprint, loaded_through = excluded.loaded_through",
            [(run_id, fingerprint, name, loaded) for name, loaded in snapshot.items()])
    # A week of builds stays on record; older watermarks are only kept while no newer one exists.
    conn.execute(f"""
        delete from {WATERMARKS} as old
        where old.recorded_at < now() - interval '7 days'
            and exists (
                select from {WATERMARKS} as newer
                where newer.source_name = old.source_name and newer.recorded_at > old.recorded_at
            )""")
    conn.commit()


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
    they cannot fail, whatever
    their severity or row filter, so a scheduled build leaves them out. Read from the catalog, so a
    table built without the constraint is still tested."""
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
    # the tables, as two arrays for `(schema, table) in (select * from unnest(...))`
    tables = ([schema for schema, _ in relations], [table for _, table in relations])
    not_null = set(conn.execute("""
        select n.nspname, c.relname, a.attname
        from pg_attribute as a
        join pg_class as c on c.oid = a.attrelid
        join pg_namespace as n on n.oid = c.relnamespace
        where a.attnotnull and a.attnum > 0 and (n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[]))
        """, tables).fetchall())
    unique = {(schema, table, tuple(columns)) for schema, table, columns in conn.execute("""
        select n.nspname, c.relname, array(
            select a.attname::text from pg_attribute as a
            where a.attrelid = i.indrelid and a.attnum = any(i.indkey) order by 1
        )
        from pg_index as i
        join pg_class as c on c.oid = i.indrelid
        join pg_namespace as n on n.oid = c.relnamespace
        where i.indisunique and i.indpred is null and i.indexprs is null
            and (n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[]))
        """, tables).fetchall()}
    checks = set(conn.execute("""
        select n.nspname, c.relname, k.conname
        from pg_constraint as k
        join pg_class as c on c.oid = k.conrelid
        join pg_namespace as n on n.oid = c.relnamespace
        where k.contype = 'c' and k.convalidated
            and (n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[]))
        """, tables).fetchall())
    return {uid for uid, (schema, table, kind, columns) in candidates.items()
            if (kind == "not_null" and (schema, table, columns[0]) in not_null)
            or (kind in ("unique", "unique_combination") and (schema, table, columns) in unique)
            or (kind == "accepted_values" and (schema, table, tested_check_name(uid)) in checks)}


def nodes_in_scope(manifest: Mapping, changed_raw_sources: Iterable[str]) -> set[str]:
    """Unique ids of the nodes (models, tests, seeds) downstream of the changed raw sources, of
    every source the ingestion ledger does not track (ML scores, pipeline tables) and of the
    reporting models.

    A test belongs to the scope when any of its parents does, as under dbt's eager indirect
    selection: a relationship from a changed table to an unchanged one is still checked."""
    changed = set(changed_raw_sources)
    ledger_fed = {contract.name for contract in CONTRACTS}
    roots = [uid for uid, source in manifest["sources"].items()
             if source["name"] not in ledger_fed or source["name"] in changed]
    roots += [uid for uid, node in manifest["nodes"].items()
              if node["resource_type"] == "model" and node["original_file_path"].startswith(ALWAYS_REBUILT_PATH)]
    children = manifest["child_map"]
    scope, frontier = set(), list(roots)
    while frontier:
        uid = frontier.pop()
        for child in children.get(uid, ()):
            if child not in scope:
                scope.add(child)
                frontier.append(child)
    scope.update(uid for uid in roots if uid in manifest["nodes"])
    return scope
