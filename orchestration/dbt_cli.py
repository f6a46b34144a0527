"""The dbt command line against the warehouse, outside Dagster (docs site, benchmarks, tests)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.dbt_project import DBT_PROJECT_DIR
from orchestration.warehouse import dbt_environment


def run_dbt(args: list[str], database_url: str, target_path: Path | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run `dbt <args>` on the project with the connection of `database_url`.

    A separate target path keeps a build's artefacts away from the manifest Dagster reads."""
    env = {**os.environ, **dbt_environment(database_url), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [str(Path(sys.executable).parent / "dbt"), *args,
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return result
