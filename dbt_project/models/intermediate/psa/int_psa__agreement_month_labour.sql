{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='labour_key',
    indexes=[{'columns': ['labour_key'], 'unique': true}, {'columns': ['_source_loaded_at']}]
) }}
-- Technician hours and their cost per client, agreement and month of work. Time booked without an
-- agreement keeps an empty agreement_id. Incremental: only the groups with new time are recomputed.
with touched as (
    select distinct
        client_id,
        coalesce(agreement_id, '') as agreement_id,
        date_trunc('month', started_at)::date as month
    from {{ ref('stg_psa__time_entries') }}
    where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
),

entries as (
    select
        touched.client_id,
        touched.agreement_id,
        touched.month,
        time_entries.hours,
        time_entries.is_billable,
        time_entries.cost_rate,
        time_entries.started_at,
        time_entries._loaded_at
    from {{ ref('stg_psa__time_entries') }} as time_entries
    inner join touched
        on
            time_entries.client_id = touched.client_id
            and coalesce(time_entries.agreement_id, '') = touched.agreement_id
            and time_entries.started_at >= touched.month
            and time_entries.started_at < touched.month + interval '1 month'
)

select
    {{ dbt.concat(["client_id", "'|'", "agreement_id", "'|'", "month::text"]) }} as labour_key,
    client_id,
    nullif(agreement_id, '') as agreement_id,
    month,
    sum(hours) as labour_hours,
    coalesce(sum(hours) filter (where is_billable), 0) as billable_hours,
    sum(hours * cost_rate) as labour_cost,
    count(*)::integer as time_entries,
    min(started_at) as first_started_at,
    max(started_at) as last_started_at,
    max(_loaded_at) as _source_loaded_at
from entries
group by 1, 2, 3, 4
