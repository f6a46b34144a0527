{{ config(
    materialized='view',
    pre_hook=[
        "create schema if not exists raw",
        "create table if not exists raw._pipeline_step_outcomes (
            dagster_run_id text not null, job_name text not null, step_key text not null, asset text not null,
            succeeded boolean not null, error text, finished_at timestamptz not null default now()
        )"
    ]
) }}
-- The pipeline's checks as the warehouse sees them: each source's freshness (`source_is_fresh`),
-- each file's contract (`file_passes_contract`) and the latest outcome of each pipeline step
-- (`pipeline_step_succeeded`), passed or failed, with what failed. Dagster's run history lives in
-- its own storage; the ledger and the step outcomes its hooks write are what the warehouse has.
-- The pre-hook creates the outcomes table (as orchestration/defs/step_outcomes.py does) so that
-- the view can be built before any step has finished.
select
    'source_is_fresh' as check_name,
    source_entity,
    source_entity as checked_item,
    freshness_status = 'fresh' as passed,
    case freshness_status
        when 'fresh' then null
        when 'never delivered' then 'no file has loaded yet'
        else 'last file loaded ' || hours_since_last_load || ' h ago, expected within '
            || coalesce(expected_cadence_hours::text, '?') || ' h'
    end as detail,
    last_loaded_at as evaluated_at
from {{ ref('data_health_sources') }}

union all

select
    'file_passes_contract' as check_name,
    source_entity,
    file_key as checked_item,
    not failed_contract as passed,
    case
        when failed_contract then status || ': ' || coalesce(error_summary, rows_rejected || ' rows rejected')
    end as detail,
    loaded_at as evaluated_at
from {{ ref('data_health_files') }}

union all

select
    'pipeline_step_succeeded' as check_name,
    asset as source_entity,
    step_key as checked_item,
    succeeded as passed,
    case
        when not succeeded then coalesce(error, 'failed') || ' (Dagster run ' || dagster_run_id || ')'
    end as detail,
    finished_at as evaluated_at
from (
    select distinct on (step_key) *
    from {{ source('pipeline', '_pipeline_step_outcomes') }}
    order by step_key asc, finished_at desc
) as latest_step_outcomes
