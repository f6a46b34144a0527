"""The Dagster instance folder (DAGSTER_HOME): SQLite storage locally, telemetry off."""

from __future__ import annotations

from pathlib import Path

DAGSTER_YAML = """\
# Written by PulseOps. SQLite run/event storage under this folder; point `storage:` at PostgreSQL
# (scheme postgresql+psycopg2) to share the instance between machines.
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
# Two runs at once; one dbt build at a time and one load per source entity (the assets' pools),
# whoever started the runs.
concurrency:
  runs:
    max_concurrent_runs: 2
  pools:
    default_limit: 1
# A failed run (the sensor's, the schedule's) is run again from the failed step, twice at most.
run_retries:
  enabled: true
  max_retries: 2
"""


def prepare_dagster_home(state_dir: Path) -> Path:
    home = state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home
