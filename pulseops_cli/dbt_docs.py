"""`make docs`: build the dbt docs site into dbt_project/target (index.html, manifest, catalog).

The catalog is read from the warehouse, so this starts the embedded PostgreSQL when no
DATABASE_URL is set. Serve it with `dbt docs serve --project-dir dbt_project --profiles-dir dbt_project`.
"""
from __future__ import annotations

import sys

from orchestration.dbt_cli import run_dbt
from orchestration.dbt_project import DBT_PROJECT_DIR
from pulseops_core.settings import Settings
from pulseops_core.warehouse import resolve_database_url


def main() -> int:
    url = resolve_database_url(Settings.from_env())
    result = run_dbt(["docs", "generate"], url, check=False)
    print(result.stdout[-2000:], end="")
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return result.returncode
    print(f"dbt docs site: {DBT_PROJECT_DIR / 'target' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
