with latest as (
    {{ latest_per_key(source('focus', 'focus__costs'),
                      ['charge_period_start', 'sub_account_id', 'service_name', 'resource_id']) }}
)

select
    {{ dbt.concat(["charge_period_start::text", "'|'", "sub_account_id", "'|'", "service_name", "'|'", "resource_id"]) }}
        as cost_key,
    charge_period_start::date as charge_date,
    charge_period_start,
    charge_period_end,
    billed_cost,
    effective_cost,
    billing_currency,
    charge_category,
    provider_name,
    service_name,
    service_category,
    sub_account_id,
    resource_id,
    coalesce(tags::jsonb ->> 'department', 'Unallocated') as department
from latest
