{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['usage_date', 'application_id'],
    indexes=[{'columns': ['usage_date', 'application_id'], 'unique': true}]
) }}
-- Users and activity per application and day. Incremental: only the application-days that received
-- new rows (a late row for an old day included) are recomputed, whole.
with touched as (
    select distinct
        usage_date,
        application_id
    from {{ ref('stg_saas__daily_usage') }}
    where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
)

select
    usage.usage_date,
    usage.application_id,
    count(*)::integer as users_reported,
    count(*) filter (where usage.is_active)::integer as active_users,
    sum(usage.activity_count)::bigint as activity_count,
    max(usage._loaded_at) as _source_loaded_at
from {{ ref('stg_saas__daily_usage') }} as usage
inner join touched
    on usage.usage_date = touched.usage_date and usage.application_id = touched.application_id
group by 1, 2
