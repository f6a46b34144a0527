-- FOCUS rows have no per-row key (one resource has several SKUs and charges a day), but every file
-- covers whole billing periods of a provider: the rows of the latest load of a provider's billing
-- period replace every earlier delivery of that period. Incremental with dbt's delete+insert on
-- (provider, billing period): the periods that received a delivery since the last build (an old
-- period re-delivered included) are deleted and written again from their latest delivery.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['provider_name', 'billing_period_start'],
    on_schema_change='append_new_columns',
    indexes=[
        {'columns': ['provider_name', 'billing_period_start']},
        {'columns': ['_loaded_at']},
        {'columns': ['charge_date']},
    ],
    pre_hook="{{ raw_loaded_at_index(source('focus', 'focus__costs')) }}"
) }}

with delivered as (
    select *
    from {{ source('focus', 'focus__costs') }}
    where {{ loaded_since_last_build() }}
),

-- a load is one file's transaction: its rows share one _loaded_at
latest_load as (
    select
        provider_name,
        billing_period_start,
        max(_loaded_at) as _loaded_at
    from delivered
    group by 1, 2
),

latest as (
    select delivered.*
    from delivered
    inner join latest_load
        on
            delivered.provider_name = latest_load.provider_name
            and delivered.billing_period_start = latest_load.billing_period_start
            and delivered._loaded_at = latest_load._loaded_at
)

select
    charge_period_start::date as charge_date,
    charge_period_start,
    charge_period_end,
    billing_period_start,
    billing_period_end,
    billed_cost,
    effective_cost,
    list_cost,
    contracted_cost,
    billing_currency,
    charge_category,
    charge_class,
    charge_description,
    charge_frequency,
    provider_name,
    publisher_name,
    invoice_issuer_name,
    invoice_id,
    billing_account_id,
    billing_account_name,
    billing_account_type,
    service_name,
    service_category,
    service_subcategory,
    sub_account_id,
    sub_account_name,
    sub_account_type,
    resource_id,
    resource_name,
    resource_type,
    region_id,
    region_name,
    availability_zone,
    sku_id,
    sku_price_id,
    sku_meter,
    pricing_category,
    pricing_quantity,
    pricing_unit,
    list_unit_price,
    contracted_unit_price,
    consumed_quantity,
    consumed_unit,
    commitment_discount_id,
    commitment_discount_name,
    commitment_discount_category,
    commitment_discount_type,
    commitment_discount_status,
    tags::jsonb as tags,
    coalesce(tags::jsonb ->> 'department', 'Unallocated') as department,
    extra_columns as custom_columns,
    _loaded_at
from latest
