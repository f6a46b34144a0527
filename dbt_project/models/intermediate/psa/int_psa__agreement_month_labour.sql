{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='labour_key',
    indexes=[{'columns': ['labour_key'], 'unique': true}]
) }}
-- Technician hours and their cost per client, agreement and month of work. Time booked without an
-- agreement keeps an empty agreement_id. Incremental: only the groups with new time are recomputed.
with entries as (
    select
        client_id,
        coalesce(agreement_id, '') as agreement_id,
        date_trunc('month', started_at)::date as month,
        hours,
        is_billable,
        cost_rate,
        _loaded_at
    from {{ ref('stg_psa__time_entries') }}
),

touched as (
    select distinct
        client_id,
        agreement_id,
        month
    from entries
    where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
)

select
    {{ dbt.concat(["entries.client_id", "'|'", "entries.agreement_id", "'|'", "entries.month::text"]) }} as labour_key,
    entries.client_id,
    nullif(entries.agreement_id, '') as agreement_id,
    entries.month,
    sum(entries.hours) as labour_hours,
    coalesce(sum(entries.hours) filter (where entries.is_billable), 0) as billable_hours,
    sum(entries.hours * entries.cost_rate) as labour_cost,
    count(*)::integer as time_entries,
    max(entries._loaded_at) as _source_loaded_at
from entries
inner join touched
    on entries.client_id = touched.client_id
        and entries.agreement_id = touched.agreement_id
        and entries.month = touched.month
group by 1, 2, 3, 4
