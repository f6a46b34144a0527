{{ config(materialized='table') }}
-- The span of the IT history: usage judged on its latest day, spend from the first to the latest
-- day of cost data (subscriptions are spread over the same days).
with usage as (
    select
        min(usage_date) as first_day,
        max(usage_date) as last_day
    from {{ ref('int_saas__daily_app_usage') }}
),

spend as (
    select
        min(charge_date) as first_day,
        max(charge_date) as last_day
    from {{ ref('int_focus__daily_spend') }}
)

select
    usage.last_day as usage_as_of_date,
    coalesce(spend.first_day, usage.first_day) as spend_start_date,
    greatest(spend.last_day, usage.last_day) as spend_end_date
from usage
cross join spend
