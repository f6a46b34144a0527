"""`make check`'s SQL style step: sqlfluff (.sqlfluff, dbt templater) over the dbt models.

The dbt templater compiles every model, and a model's `is_incremental()` asks the database whether
its table exists, so linting needs a PostgreSQL: given none, a throwaway embedded one (in a temporary
folder, stopped afterwards) answers, and nothing outside this checkout is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pulseops_core import embedded_postgres
from pulseops_core.settings import REPO_ROOT
from pulseops_core.warehouse import dbt_environment


def lint(database_url: str) -> subprocess.CompletedProcess:
    """sqlfluff's verdict on dbt_project/models, compiled against `database_url`."""
    env = {**os.environ, **dbt_environment(database_url), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "sqlfluff"),
            "lint",
            "dbt_project/models",
            # one process: `make check` runs the unit tests on the other core
            "--processes",
            "1",
            "--disable-progress-bar",
            "--nocolor",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pulseops-lint-sql-") as folder:
        state = Path(folder)
        server = embedded_postgres.ensure_running(state, state / "secrets")
        try:
            result = lint(server.url)
        finally:
            embedded_postgres.stop(state)
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
