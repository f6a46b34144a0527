"""Run a PulseOps job once, in this process, recorded in the given Dagster instance."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dagster import DagsterInstance, ExecuteInProcessResult

from orchestration.defs.step_outcomes import step_asset


def run_job(
    job_name: str = "pulseops_job",
    instance: DagsterInstance | None = None,
    run_config: dict | None = None,
    tags: dict | None = None,
) -> ExecuteInProcessResult:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from orchestration.definitions import defs

    job = defs.get_job_def(job_name)
    if instance is None:
        with DagsterInstance.ephemeral() as ephemeral:
            return job.execute_in_process(instance=ephemeral, run_config=run_config, tags=tags, raise_on_error=False)
    return job.execute_in_process(instance=instance, run_config=run_config, tags=tags, raise_on_error=False)


@dataclass(frozen=True)
class FailedStep:
    step_key: str
    asset: str  # as the Dagster UI spells it: ml/churn_scores
    error: str  # the root cause's first line: Dagster wraps the asset's own error in its own


def _root_cause(error) -> str:
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "failed"
    lines = [line.strip() for line in (error.message or "").strip().splitlines() if line.strip()]
    if not lines:
        return error.cls_name or "failed"
    # dbt's failures open with the whole command and end with what failed: keep both ends.
    first, last = _shortened(lines[0]), _shortened(lines[-1])
    return first if first == last else f"{first} ... {last}"


def _shortened(line: str, limit: int = 200) -> str:
    return line if len(line) <= limit else line[: limit - 3] + "..."


def failed_steps(result: ExecuteInProcessResult) -> list[FailedStep]:
    """Each step that failed in the run, with the asset it writes and why it failed."""
    return [
        FailedStep(event.step_key, step_asset(event.step_key), _root_cause(event.step_failure_data.error))
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    ]


def skipped_steps(result: ExecuteInProcessResult) -> list[str]:
    """Steps not run because a step they depend on failed."""
    return [event.step_key for event in result.all_events if event.event_type_value == "STEP_SKIPPED"]


def failure_summary(result: ExecuteInProcessResult) -> str:
    lines = [f"  {step.asset}: {step.error}" for step in failed_steps(result)]
    skipped = skipped_steps(result)
    if skipped:
        lines.append(f"  not run because of them: {', '.join(step_asset(key) for key in skipped)}")
    return "\n".join(lines) or "run failed"
