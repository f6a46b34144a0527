"""One dbt build of the warehouse, as the Dagster asset and the benchmark run it.

A full build runs what it is given. A scheduled build (orchestration/defs/dbt.py says when)
narrows that to the nodes downstream of sources loaded since the last complete build
(orchestration/build_scope.py), less the tests PostgreSQL enforces (orchestration/enforced_tests.py),
and leaves unit tests to CI (orchestration/dbt_cli.py).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from orchestration import build_scope
from orchestration.dbt_cli import build_command
from orchestration.dbt_in_process import DbtProjectSession
from orchestration.dbt_project import DBT_PROJECT_DIR
from orchestration.enforced_tests import tests_the_database_guarantees
from pulseops_core.warehouse import dbt_environment, libpq_url

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
TABLES_CURRENT = "PULSEOPS_DBT_TABLES_CURRENT"
# Resource types a scheduled build may select by name (unit tests are CI's).
BUILDABLE = ("model", "seed", "snapshot", "test")


@dataclass
class WarehouseBuild:
    database_url: str
    run_id: str
    scheduled: bool
    target_path: Path
    # The nodes the caller wants (dbt selection arguments), before a scheduled build narrows them.
    selection_args: Sequence[str] = ()
    # Flags for every dbt command of the build (e.g. --vars).
    global_args: Sequence[str] = ()
    # Whether the build covers the whole project, so its success moves the watermarks.
    complete: bool = True
    project_dir: Path = DBT_PROJECT_DIR
    # Where the build says what it is about to do (Dagster's run log).
    say: Callable[[str], None] = lambda message: None

    def stream(self) -> Iterator[dict]:
        """Run the build, yielding each node's result event as it finishes."""
        os.environ.update(dbt_environment(self.database_url))
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        args, env = build_command(self.scheduled)
        os.environ.update(env)
        _reuse_parsed_project(self.project_dir, self.target_path)
        fingerprint = build_scope.project_fingerprint(self.project_dir)
        with psycopg.connect(libpq_url(self.database_url), autocommit=True) as conn:
            # Taken before dbt reads anything: a load committing during the build counts as new next time.
            snapshot = build_scope.ledger_snapshot(conn)
            changed = (build_scope.sources_loaded_since_last_build(conn, self.run_id, fingerprint, snapshot)
                       if self.scheduled else None)
            # A build of a project unchanged since the last complete build: its incremental tables already
            # hold the project's comments and constraints (dbt_project/macros/persist_docs.sql).
            os.environ[TABLES_CURRENT] = "true" if changed is not None else "false"
            session = DbtProjectSession(self.project_dir, self.target_path, self.global_args)
            selection = list(self.selection_args)
            if changed is not None:
                selection = self._narrowed(conn, session, selection, changed)
        if selection is None:
            self.say("dbt: no source has new loads since the last build and the project is unchanged; "
                     "nothing to rebuild")
            return
        scope = "" if changed is None else f"; sources with new loads: {', '.join(sorted(changed)) or 'none'}"
        self.say(f"dbt {' '.join(args)} ({'scheduled' if self.scheduled else 'full'} build{scope})")
        # Dagster keeps every node's result and the deployment holds the manifest: the build's own
        # copies (run_results.json, manifest.json) would cost a rewrite of the whole manifest per build.
        yield from session.stream([*args, "--no-write-json", *selection])
        if self.complete:
            with psycopg.connect(libpq_url(self.database_url)) as conn:
                build_scope.record_build(conn, self.run_id, fingerprint, snapshot)

    def _narrowed(self, conn, session: DbtProjectSession, selection: list[str],
                  changed: set[str]) -> list[str] | None:
        """The requested nodes in the scheduled build's scope, less the tests the database guarantees,
        selected by name."""
        manifest = session.manifest
        wanted = session.list_unique_ids([*selection, *(arg for kind in BUILDABLE for arg in ("--resource-type", kind))])
        graph = _graph_of(manifest)
        chosen = wanted & build_scope.nodes_in_scope(graph, changed)
        chosen -= tests_the_database_guarantees(conn, graph, [uid for uid in chosen if uid.startswith("test.")])
        if not chosen:
            return None
        return ["--select", *sorted(manifest.nodes[uid].name for uid in chosen), "--indirect-selection", "empty"]


def _graph_of(manifest) -> dict:
    """The parts of the parsed manifest build_scope reads, in manifest.json's shape."""
    manifest.build_parent_and_child_maps()
    nodes = {}
    for uid, node in manifest.nodes.items():
        nodes[uid] = {"resource_type": str(node.resource_type), "original_file_path": node.original_file_path,
                      "schema": node.schema, "alias": node.alias,
                      "attached_node": getattr(node, "attached_node", None)}
        if getattr(node, "test_metadata", None) is not None:
            nodes[uid]["test_metadata"] = {"name": node.test_metadata.name, "kwargs": node.test_metadata.kwargs}
    return {
        "sources": {uid: {"name": source.name} for uid, source in manifest.sources.items()},
        "nodes": nodes,
        "child_map": manifest.child_map,
    }


def _reuse_parsed_project(project_dir: Path, target_path: Path) -> None:
    """Start a new target folder from the project's parse state, so dbt parses only what changed."""
    parsed = project_dir / "target" / PARTIAL_PARSE_FILE
    destination = target_path / PARTIAL_PARSE_FILE
    if parsed.exists() and not destination.exists() and parsed != destination:
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copy(parsed, destination)
