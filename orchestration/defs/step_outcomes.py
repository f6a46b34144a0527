"""Every step's outcome, written to the warehouse by Dagster hooks, so Data Health shows failures.

Dagster keeps its run history in its own storage; the dashboards read only the warehouse. The
assets carry these hooks and the retry policy, so whichever way a run starts (a job, the schedule,
a sensor, the Lambda, the automation sensor's runs), each step is retried on passing faults and
its success or failure lands in `raw._pipeline_step_outcomes`; the view
`reporting.data_health_checks` reports the latest outcome of each step as the check
`pipeline_step_succeeded`.
"""

from __future__ import annotations

from dagster import Backoff, HookContext, Jitter, RetryPolicy, failure_hook, success_hook

STEP_OUTCOMES = "raw._pipeline_step_outcomes"
# Kept equal to the pre-hook of dbt_project/models/reporting/data_health_checks.sql, which creates
# the table when no step has finished yet (the view needs it to exist).
CREATE_STEP_OUTCOMES = f"""
create table if not exists {STEP_OUTCOMES} (
    dagster_run_id text not null, job_name text not null, step_key text not null, asset text not null,
    succeeded boolean not null, error text, finished_at timestamptz not null default now()
)"""
# A step that fails (a database restarting, S3 throttling) is tried again after 10, 20 and 40
# seconds (with jitter); content problems never fail a step, they quarantine the file.
TRANSIENT_RETRIES = RetryPolicy(max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
ERROR_CHARACTERS = 500  # the first lines say what broke; the whole trace is in the Dagster run


def step_asset(step_key: str) -> str:
    """The asset a step materialises, spelt as the Dagster UI shows it: `ml__churn_scores` ->
    `ml/churn_scores`; a step of several assets (the dbt models) keeps its step name."""
    prefix, _, rest = step_key.partition("__")
    return f"{prefix}/{rest}" if rest else step_key


def error_text(error: BaseException | None) -> str | None:
    """The root cause's type and message: Dagster wraps the asset's own error in its own."""
    while error is not None and error.__cause__ is not None:
        error = error.__cause__
    if error is None:
        return None
    return f"{type(error).__name__}: {error}"[:ERROR_CHARACTERS]


def record_step_outcome(
    conn, run_id: str, job_name: str, step_key: str, succeeded: bool, error: str | None = None
) -> None:
    conn.execute(CREATE_STEP_OUTCOMES)
    conn.execute(
        f"insert into {STEP_OUTCOMES} (dagster_run_id, job_name, step_key, asset, succeeded, error) "
        "values (%s, %s, %s, %s, %s, %s)",
        (run_id, job_name, step_key, step_asset(step_key), succeeded, error),
    )
    conn.commit()


def _record(context: HookContext, succeeded: bool) -> None:
    error = None if succeeded else error_text(context.op_exception)
    with context.resources.warehouse.connect() as conn:
        record_step_outcome(conn, context.run_id, context.job_name, context.step_key, succeeded, error)


@success_hook(required_resource_keys={"warehouse"})
def record_step_success(context: HookContext) -> None:
    _record(context, succeeded=True)


@failure_hook(required_resource_keys={"warehouse"})
def record_step_failure(context: HookContext) -> None:
    _record(context, succeeded=False)


step_outcome_hooks = {record_step_success, record_step_failure}
