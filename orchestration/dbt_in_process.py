"""dbt inside the calling process, streaming each node's result as it finishes.

A dbt command line pays for starting Python and importing dbt (about three seconds here) on every
build; a scheduled build after one day of data is not much longer than that. Importing dbt with
this module moves that cost to the start of the Dagster code location, once per run worker.
The project is parsed once per build and the parsed manifest is reused for the selection and
the build itself.
"""
from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from dbt.cli.main import dbtRunner, dbtRunnerResult
from dbt.contracts.graph.manifest import Manifest
from dbt_common.events.functions import msg_to_dict

# The events that carry a node's result, as dagster-dbt reads them from dbt's JSON log.
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
_DONE = object()


class DbtBuildFailed(RuntimeError):
    """dbt finished with errors or failing tests; the message names them."""


def _project_args(project_dir: Path, target_path: Path) -> list[str]:
    return ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
            "--target-path", str(target_path)]


class DbtProjectSession:
    """One parse of the project, reused by the selection and the build that follow it."""

    def __init__(self, project_dir: Path, target_path: Path, global_args: Sequence[str] = ()):
        self.project_args = _project_args(project_dir, target_path)
        self.global_args = list(global_args)
        # The build writes the manifest with its results; writing it here too costs half the parse.
        result = dbtRunner().invoke(["parse", "--quiet", "--no-write-json", *self.global_args, *self.project_args])
        if not result.success:
            raise DbtBuildFailed(f"dbt could not parse the project: {result.exception}")
        self.manifest: Manifest = result.result

    def list_unique_ids(self, selection_args: Sequence[str]) -> set[str]:
        """The unique ids a selection picks, as `dbt ls` evaluates it."""
        result = dbtRunner(manifest=self.manifest).invoke(
            ["ls", "--log-level", "none", *self.global_args, *self.project_args, *selection_args,
             "--output", "json", "--output-keys", "unique_id"])
        if not result.success:
            raise DbtBuildFailed(f"dbt could not evaluate the selection {list(selection_args)}: {result.exception}")
        return {json.loads(line)["unique_id"] for line in result.result}

    def stream(self, args: Sequence[str]) -> Iterator[dict]:
        """Run `dbt <args>`; yield each node's result event (as in dbt's JSON log) when it finishes.

        Raises DbtBuildFailed at the end when a node failed."""
        events: queue.SimpleQueue = queue.SimpleQueue()
        outcome: dict[str, dbtRunnerResult] = {}

        def forward(message) -> None:
            if message.info.name in RESULT_EVENTS:
                events.put(msg_to_dict(message))

        def run() -> None:
            try:
                outcome["result"] = dbtRunner(manifest=self.manifest, callbacks=[forward]).invoke(
                    [*args, *self.global_args, *self.project_args])
            finally:
                events.put(_DONE)

        # dbt runs in a thread of its own so results reach the caller while later nodes still run.
        worker = threading.Thread(target=run, name="dbt-build", daemon=True)
        worker.start()
        while (event := events.get()) is not _DONE:
            yield event
        worker.join()
        _raise_on_failure(outcome.get("result"), args)


def _raise_on_failure(result: dbtRunnerResult | None, args: Sequence[str]) -> None:
    if result is None:
        raise DbtBuildFailed(f"dbt {' '.join(args)} stopped without a result")
    if result.success:
        return
    if result.exception is not None:
        raise DbtBuildFailed(f"dbt {' '.join(args)} failed: {result.exception}")
    failures = [f"{r.node.unique_id}: {r.status} {r.message or ''}".strip()
                for r in getattr(result.result, "results", []) if str(r.status) in ("error", "fail")]
    raise DbtBuildFailed(f"dbt {' '.join(args)} failed:\n" + "\n".join(failures))
