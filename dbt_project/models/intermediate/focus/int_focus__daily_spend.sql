{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='spend_key',
    indexes=[{'columns': ['spend_key'], 'unique': true}, {'columns': ['charge_date']}]
) }}
-- FOCUS cost per day, department, provider, publisher and service. Incremental: only days that
-- received new rows (a late row for an old day included) are recomputed, whole.
with touched as (
    select distinct charge_date
    from {{ ref('stg_focus__costs') }}
    where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
)

select
    {{ dbt.concat(["costs.charge_date::text", "'|'", "costs.department", "'|'", "costs.provider_name", "'|'",
                   "costs.publisher_name", "'|'", "costs.service_name"]) }} as spend_key,
    costs.charge_date,
    costs.department,
    costs.provider_name,
    costs.publisher_name,
    costs.service_name,
    max(costs.service_category) as service_category,
    sum(costs.billed_cost) as billed_cost,
    sum(costs.effective_cost) as effective_cost,
    sum(costs.list_cost) as list_cost,
    count(*)::integer as cost_rows,
    max(costs._loaded_at) as _source_loaded_at
from {{ ref('stg_focus__costs') }} as costs
inner join touched on costs.charge_date = touched.charge_date
group by 1, 2, 3, 4, 5, 6
