-- One snapshot per client and month end at which it had a running managed-services agreement, with
-- the churn label: did the client cancel all its managed agreements within the horizon after it?
-- The outcome is observable once the horizon has passed (or the client has already left).
{{ config(materialized='table') }}
with managed as (
    select
        client_id,
        month,
        max(_loaded_at) as _loaded_at
    from {{ ref('int_agreements_active_by_month') }}
    where agreement_type = 'managed_services'
    group by 1, 2
)

select
    managed.client_id,
    managed.month as snapshot_month,
    (managed.month + interval '1 month - 1 day')::date as snapshot_date,
    churned.churn_date,
    coalesce(
        churned.churn_date > (managed.month + interval '1 month - 1 day')::date
        and churned.churn_date <= (managed.month + interval '1 month - 1 day')::date
        + {{ var('churn_horizon_days') }},
        false
    ) as churns_within_90d,
    (managed.month + interval '1 month - 1 day')::date + {{ var('churn_horizon_days') }} <= calendar.as_of_date
    or coalesce(churned.churn_date <= calendar.as_of_date, false) as outcome_observable,
    -- the newest load of the client's managed agreements running then
    managed._loaded_at as _source_loaded_at
from managed
cross join {{ ref('int_psa__calendar') }} as calendar
left join {{ ref('int_clients_churned') }} as churned
    on managed.client_id = churned.client_id
where managed.month between calendar.first_month and calendar.last_month
