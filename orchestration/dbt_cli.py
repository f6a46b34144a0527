"""The dbt command line against the warehouse, outside Dagster (docs site, tests)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.dbt_project import DBT_PROJECT_DIR
from pulseops_core.warehouse import dbt_environment

# The scheduled build (the daily schedule and the landing sensor, once the warehouse exists): unit
# tests are for CI and left out, and data tests configured with `where: "recent(<column>)"` (those
# on the large incremental tables) look at the latest days only. Any other build runs everything.
# Its log file keeps warnings and errors only: at dbt's default (debug) level every statement of
# every node is written to dbt.log, about a second of dbt's CPU in a build of ~200 nodes. Errors
# still reach the file, and every event still reaches stdout (where Dagster reads them).
SCHEDULED_BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test", "--log-level-file", "warn"]
FULL_BUILD_ARGS = ["build"]
# Read by dbt_project/macros/get_where_subquery.sql when the tests run, not when the project is
# parsed, so the scheduled build still reuses the parsed project (partial parsing).
SCHEDULED_BUILD_ENV = {"PULSEOPS_DBT_TEST_SCOPE": "recent"}
FULL_BUILD_ENV = {"PULSEOPS_DBT_TEST_SCOPE": "full"}


def build_command(scheduled: bool) -> tuple[list[str], dict[str, str]]:
    """The `dbt build` arguments and environment of a scheduled or a full build."""
    if scheduled:
        return list(SCHEDULED_BUILD_ARGS), dict(SCHEDULED_BUILD_ENV)
    return list(FULL_BUILD_ARGS), dict(FULL_BUILD_ENV)


def run_dbt(args: list[str], database_url: str, target_path: Path | None = None,
            check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `dbt <args>` on the project with the connection of `database_url` (and `env` on top).

    A separate target path keeps a build's artefacts away from the manifest Dagster reads."""
    env = {**os.environ, **dbt_environment(database_url), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})}
    command = [str(Path(sys.executable).parent / "dbt"), *args,
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return result
