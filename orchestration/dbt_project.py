"""The dbt project as Dagster sees it. Kept in its own module so `dagster-dbt project
prepare-and-package --file orchestration/dbt_project.py` can build the manifest for deployment."""
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Builds the manifest from source on local runs; deployments package it ahead of time.
dbt_project.prepare_if_dev()
