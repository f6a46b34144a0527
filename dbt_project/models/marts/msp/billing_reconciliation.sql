-- Devices supported vs devices billed: each running managed-services agreement (billed per endpoint)
-- against the endpoints the RMM saw on the client's latest snapshot. A positive gap is support given
-- away; unbilled_monthly_amount prices it at the agreement's own unit price.
with latest_estate as (
    select distinct on (client_id)
        client_id,
        managed_endpoints,
        last_snapshot_date
    from {{ ref('int_rmm__client_month_health') }}
    order by client_id asc, month desc
)

select
    agreements.agreement_id,
    agreements.client_id,
    clients.client_name,
    agreements.units as billed_units,
    latest_estate.managed_endpoints as supported_units,
    latest_estate.last_snapshot_date as supported_as_of,
    latest_estate.managed_endpoints - agreements.units as unit_gap,
    agreements.unit_price,
    greatest(latest_estate.managed_endpoints - agreements.units, 0) * agreements.unit_price as unbilled_monthly_amount,
    case
        when latest_estate.managed_endpoints > agreements.units then 'under_billed'
        when latest_estate.managed_endpoints < agreements.units then 'over_billed'
        else 'matched'
    end as status
from {{ ref('agreements') }} as agreements
inner join {{ ref('stg_psa__clients') }} as clients
    on agreements.client_id = clients.client_id
inner join latest_estate
    on agreements.client_id = latest_estate.client_id
where agreements.agreement_type = 'managed_services' and agreements.is_active
