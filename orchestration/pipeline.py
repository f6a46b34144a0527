"""Run a PulseOps job once, in this process, recorded in the given Dagster instance."""
from __future__ import annotations

import os

from dagster import DagsterInstance, ExecuteInProcessResult


def run_job(job_name: str = "pulseops_job", instance: DagsterInstance | None = None,
            run_config: dict | None = None, tags: dict | None = None) -> ExecuteInProcessResult:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from orchestration.definitions import defs

    job = defs.get_job_def(job_name)
    if instance is None:
        with DagsterInstance.ephemeral() as ephemeral:
            return job.execute_in_process(instance=ephemeral, run_config=run_config, tags=tags, raise_on_error=False)
    return job.execute_in_process(instance=instance, run_config=run_config, tags=tags, raise_on_error=False)


def failure_summary(result: ExecuteInProcessResult) -> str:
    lines = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            lines.append(f"{event.step_key}: {error.message if error else event.message}")
    return "\n".join(lines) or "run failed"
