-- One row per client: who it is, whether it is still a managed-services client, and where it
-- stands in the latest month of the history.
with calendar as (
    select * from {{ ref('int_psa__calendar') }}
),

latest_month as (
    select client_months.*
    from {{ ref('int_client_months') }} as client_months
    inner join calendar on client_months.month = calendar.last_month
),

latest_estate as (
    select distinct on (client_id)
        client_id,
        managed_endpoints,
        last_snapshot_date
    from {{ ref('int_rmm__client_month_health') }}
    order by client_id asc, month desc
)

select
    clients.client_id,
    clients.client_name,
    clients.industry,
    clients.segment,
    clients.region,
    clients.onboarded_date,
    clients.employee_count,
    churned.first_managed_start_date,
    churned.churn_date,
    churned.first_managed_start_date is not null and churned.churn_date is null as is_active,
    coalesce(latest_month.mrr, 0) as current_mrr,
    coalesce(latest_month.active_services, 0) as active_services,
    latest_estate.managed_endpoints,
    latest_estate.last_snapshot_date,
    (
        extract(year from age(calendar.as_of_date, clients.onboarded_date)) * 12
        + extract(month from age(calendar.as_of_date, clients.onboarded_date))
    )::integer as tenure_months
from {{ ref('stg_psa__clients') }} as clients
cross join calendar
left join {{ ref('int_clients_churned') }} as churned on clients.client_id = churned.client_id
left join latest_month on clients.client_id = latest_month.client_id
left join latest_estate on clients.client_id = latest_estate.client_id
