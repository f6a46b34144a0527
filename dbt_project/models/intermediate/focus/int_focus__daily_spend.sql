{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['provider_name', 'billing_period_start'],
    indexes=[
        {'columns': ['spend_key'], 'unique': true},
        {'columns': ['provider_name', 'billing_period_start']},
        {'columns': ['charge_date']},
    ]
) }}
-- FOCUS cost per day, department, provider, publisher, service and billing period (a correction
-- billed in a later period keeps its own row). Incremental: a delivery replaces
-- a provider's billing period in staging, so the billing periods that received one (an old period
-- re-delivered included) are recomputed whole, and days the new delivery no longer has disappear.
with touched as (
    select distinct
        provider_name,
        billing_period_start
    from {{ ref('stg_focus__costs') }}
    where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
)

select
    {{ dbt.concat(["costs.charge_date::text", "'|'", "costs.department", "'|'", "costs.provider_name", "'|'",
                   "costs.publisher_name", "'|'", "costs.service_name", "'|'", "costs.billing_period_start::date::text"]) }}
        as spend_key,
    costs.charge_date,
    costs.department,
    costs.provider_name,
    costs.publisher_name,
    costs.service_name,
    costs.billing_period_start,
    max(costs.service_category) as service_category,
    sum(costs.billed_cost) as billed_cost,
    sum(costs.effective_cost) as effective_cost,
    sum(costs.list_cost) as list_cost,
    count(*)::integer as cost_rows,
    max(costs._loaded_at) as _source_loaded_at
from {{ ref('stg_focus__costs') }} as costs
inner join touched
    on
        costs.provider_name = touched.provider_name
        and costs.billing_period_start = touched.billing_period_start
group by 1, 2, 3, 4, 5, 6, 7
