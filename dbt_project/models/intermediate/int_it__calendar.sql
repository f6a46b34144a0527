{{ config(materialized='table') }}
-- The span of the IT history: usage judged on its latest day, spend from the first to the latest
-- day of cost data (subscriptions are spread over the same days). Without SaaS usage, usage is
-- judged on the latest Microsoft 365 report, then the latest day of spend, then today, so that
-- who is still employed is always known.
with usage as (
    select
        min(usage_date) as first_day,
        max(usage_date) as last_day
    from {{ ref('int_saas__daily_app_usage') }}
),

m365 as (
    select max(report_refresh_date) as last_day
    from {{ ref('stg_m365__active_user_detail') }}
),

spend as (
    select
        min(charge_date) as first_day,
        max(charge_date) as last_day
    from {{ ref('int_focus__daily_spend') }}
)

select
    coalesce(usage.last_day, m365.last_day, spend.last_day, current_date) as usage_as_of_date,
    coalesce(spend.first_day, usage.first_day) as spend_start_date,
    greatest(spend.last_day, usage.last_day) as spend_end_date
from usage
cross join m365
cross join spend
