{{ config(materialized='table') }}
-- The span of the MSP history: from the first to the latest day with any PSA or RMM activity.
-- "Now" for every MSP figure is the latest day with data, so a late export never reads as a quiet day.
with activity as (
    select
        min(created_at)::date as first_day,
        max(created_at)::date as last_day
    from {{ ref('stg_psa__tickets') }}
    union all
    select
        min(issued_date) as first_day,
        max(issued_date) as last_day
    from {{ ref('stg_psa__invoices') }}
    union all
    select
        min(started_at)::date as first_day,
        max(started_at)::date as last_day
    from {{ ref('stg_psa__time_entries') }}
    union all
    select
        min(snapshot_date) as first_day,
        max(snapshot_date) as last_day
    from {{ ref('stg_rmm__device_snapshots') }}
)

select
    min(first_day) as history_start_date,
    max(last_day) as as_of_date,
    date_trunc('month', min(first_day))::date as first_month,
    date_trunc('month', max(last_day))::date as last_month
from activity
