"""One SQL style: sqlfluff (dbt templater, PostgreSQL dialect, .sqlfluff) finds nothing in the models."""
import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO, throwaway_database


def test_models_pass_sqlfluff():
    from pulseops_core.warehouse import dbt_environment

    # The dbt templater compiles the project, which opens a connection (is_incremental() asks the database).
    with throwaway_database() as url:
        env = {**os.environ, **dbt_environment(url), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run([str(Path(sys.executable).parent / "sqlfluff"), "lint", "dbt_project/models",
                                 "--processes", "2", "--disable-progress-bar", "--nocolor"],
                                cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "FAIL" not in result.stdout
