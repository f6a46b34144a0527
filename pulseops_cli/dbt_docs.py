"""`make docs`: build the dbt docs site into dbt_project/target (index.html, manifest, catalog).

The catalog is read from the warehouse, so this starts the embedded PostgreSQL when no
DATABASE_URL is set. Serve it with `dbt docs serve --project-dir dbt_project --profiles-dir dbt_project`.
"""

from __future__ import annotations

import os
import sys

from dagster_dbt.errors import DagsterDbtCliRuntimeError

from orchestration.dbt_project import DBT_PROJECT_DIR, dbt_resource
from pulseops_core.settings import Settings
from pulseops_core.warehouse import dbt_environment, resolve_database_url


def main() -> int:
    os.environ.update(dbt_environment(resolve_database_url(Settings.from_env())))
    try:
        dbt_resource().cli(["docs", "generate"], target_path=DBT_PROJECT_DIR / "target").wait()
    except DagsterDbtCliRuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"dbt docs site: {DBT_PROJECT_DIR / 'target' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
