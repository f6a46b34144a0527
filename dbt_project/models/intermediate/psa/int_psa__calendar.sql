{{ config(materialized='table') }}
-- The span of the MSP history: from the first to the latest day with any PSA or RMM activity.
-- "Now" for every MSP figure is the latest day with data, so a late export never reads as a quiet day.
-- Read from the monthly aggregates: the same days, without scanning the large facts.
with activity as (
    select
        min(first_created_at)::date as first_day,
        max(last_created_at)::date as last_day
    from {{ ref('int_psa__client_month_tickets') }}
    union all
    select
        min(issued_date) as first_day,
        max(issued_date) as last_day
    from {{ ref('stg_psa__invoices') }}
    union all
    select
        min(first_started_at)::date as first_day,
        max(last_started_at)::date as last_day
    from {{ ref('int_psa__agreement_month_labour') }}
    union all
    select
        min(first_snapshot_date) as first_day,
        max(last_snapshot_date) as last_day
    from {{ ref('int_rmm__client_month_health') }}
)

select
    min(first_day) as history_start_date,
    max(last_day) as as_of_date,
    date_trunc('month', min(first_day))::date as first_month,
    date_trunc('month', max(last_day))::date as last_month
from activity
