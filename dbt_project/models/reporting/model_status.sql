{{ config(
    materialized='view',
    pre_hook=[
        "create schema if not exists ml",
        "create table if not exists ml.model_runs (
            dagster_run_id text, model text not null, version text, trained_at timestamptz not null,
            artefact_key text, roc_auc double precision, pr_auc double precision,
            brier double precision, metrics jsonb not null, state text, reason text
        )",
        "alter table ml.model_runs add column if not exists state text",
        "alter table ml.model_runs add column if not exists reason text"
    ]
) }}
-- The model-state tile of Data Health: each model's latest run, whether it trained (or, for the
-- scores that need no training, was computed) and in words why not when it did not.
-- It waits for no ML asset: a view built with the marts, so the tile shows every model's latest
-- row even when one of them failed. The pre-hook creates ml.model_runs as
-- orchestration/model_runs.py does, for a warehouse where no model has run yet.
with latest as (
    select distinct on (model) *
    from {{ source('ml', 'model_runs') }}
    order by model asc, trained_at desc
)

select
    model,
    case model
        when 'churn' then 'Churn risk'
        when 'spend_anomalies' then 'Spend anomalies'
        when 'client_health' then 'Client health'
        when 'spend_forecast' then 'Spend forecast'
        when 'recommendations' then 'Recommendations'
        else model
    end as model_name,
    coalesce(state, 'trained') as state,
    state = 'not trained' as is_waiting_for_data,
    reason,
    version as model_version,
    trained_at as ran_at,
    dagster_run_id
from latest
