"""The Dagster instance's run coordinator: the queue of `QueuedRunCoordinator`, minus `ecs/*` run tags.

`EcsRunLauncher` (dagster_aws) reads run tags such as `ecs/task_overrides`, `ecs/container_overrides`,
`ecs/run_task_kwargs`, `ecs/cpu` and `ecs/memory` into the ECS RunTask call, so whoever can submit a
run could change its command, role or size. Neither the launcher nor the run coordinators have a
setting that turns this off (dagster / dagster-aws 1.13 / 0.29), hence this small subclass: every run
passes `submit_run` (UI, GraphQL, schedules, sensors, backfills, retries), so it is checked there,
before it is queued and long before anything launches it.

  * `ecs/task_arn` and `ecs/cluster` are the launcher's own bookkeeping, written after it starts the
    task; retries and re-executions copy them from the parent run. They are blanked here (the launcher
    writes the real values at launch) rather than refused, so retries keep working.
  * Any other `ecs/*` tag refuses the run: it is marked failed and never launched.
"""

from __future__ import annotations

from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun

ECS_TAG_PREFIX = "ecs/"
LAUNCHER_BOOKKEEPING_TAGS = ("ecs/task_arn", "ecs/cluster")


class EcsTagRefused(DagsterInvariantViolationError):
    """A run asked for `ecs/*` tags, which would change how its ECS task is started."""


class NoEcsTagsRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator that refuses runs carrying `ecs/*` tags (see the module docstring)."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        refused = sorted(
            key for key in run.tags if key.startswith(ECS_TAG_PREFIX) and key not in LAUNCHER_BOOKKEEPING_TAGS
        )
        if refused:
            # DagsterInstance.submit_run marks the run failed when this raises; it is never queued.
            raise EcsTagRefused(f"run tags {refused} are not allowed: ecs/* tags would change the run's ECS task")
        inherited = {key: "" for key in LAUNCHER_BOOKKEEPING_TAGS if run.tags.get(key)}
        if inherited:
            self._instance.add_run_tags(run.run_id, inherited)
            context = SubmitRunContext(self._instance.get_run_by_id(run.run_id), context.workspace)
        return super().submit_run(context)
