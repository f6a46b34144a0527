{{ config(materialized='view') }}
-- The model-state tile of Data Health: each model's latest run, whether it trained (or, for the
-- scores that need no training, was computed) and in words why not when it did not.
-- depends_on: {{ source('ml', 'churn_scores') }}
-- depends_on: {{ source('ml', 'spend_anomalies') }}
-- depends_on: {{ source('ml', 'client_health') }}
-- depends_on: {{ source('ml', 'spend_forecast') }}
-- depends_on: {{ source('ml', 'recommendations') }}
-- (the ML assets write ml.model_runs, so this view is built after them; a view, so the tile shows
-- the latest run even when a later step of that run failed)
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
