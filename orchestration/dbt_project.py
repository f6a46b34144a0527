"""The dbt project as Dagster sees it. Kept in its own module so `dagster-dbt project
prepare-and-package --file orchestration/dbt_project.py` can build the manifest for deployment."""

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
# The dbt of this Python environment, whether or not its bin folder is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Builds the manifest from source on local runs; deployments package it ahead of time.
dbt_project.prepare_if_dev()


def dbt_resource() -> DbtCliResource:
    """The dbt command line over the project, as the dbt assets run it."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
