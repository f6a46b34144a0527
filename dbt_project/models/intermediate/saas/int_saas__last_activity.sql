{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='activity_key',
    indexes=[{'columns': ['activity_key'], 'unique': true}]
) }}
-- Per employee and application: the first day seen in the usage data and the last active day.
-- Incremental: new rows are folded into the pairs they touch; both dates only move outward, so
-- rows re-read in the lookback window change nothing.
with new_rows as (
    select
        {{ dbt.concat(["employee_id", "'|'", "application_id"]) }} as activity_key,
        employee_id,
        application_id,
        min(usage_date) as first_seen_date,
        max(usage_date) filter (where is_active) as last_active_date,
        max(_loaded_at) as _source_loaded_at
    from {{ ref('stg_saas__daily_usage') }}
    where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
    group by 2, 3
)

select
    new_rows.activity_key,
    new_rows.employee_id,
    new_rows.application_id,
{%- if is_incremental() %}
    least(new_rows.first_seen_date, previous.first_seen_date) as first_seen_date,
    greatest(new_rows.last_active_date, previous.last_active_date) as last_active_date,
    greatest(new_rows._source_loaded_at, previous._source_loaded_at) as _source_loaded_at
from new_rows
left join {{ this }} as previous
    on new_rows.activity_key = previous.activity_key
{%- else %}
    new_rows.first_seen_date,
    new_rows.last_active_date,
    new_rows._source_loaded_at
from new_rows
{%- endif %}
