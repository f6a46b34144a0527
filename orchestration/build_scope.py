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
