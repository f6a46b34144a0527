-- One row per catalogued application: its subscriptions, seats, active users and cost.
with subscriptions as (
    select
        application_id,
        count(*)::integer as subscriptions,
        sum(seats_purchased)::integer as seats_purchased,
        sum(seats_assigned)::integer as seats_assigned,
        sum(seats_active_30d)::integer as seats_active_30d,
        sum(monthly_cost) as monthly_cost,
        sum(wasted_monthly_cost) as wasted_monthly_cost
    from {{ ref('subscription_utilisation') }}
    group by 1
)

select
    applications.application_id,
    applications.application_name,
    applications.vendor,
    applications.category,
    applications.is_sanctioned,
    coalesce(subscriptions.subscriptions, 0) as subscriptions,
    coalesce(subscriptions.seats_purchased, 0) as seats_purchased,
    coalesce(subscriptions.seats_assigned, 0) as seats_assigned,
    coalesce(subscriptions.seats_active_30d, 0) as seats_active_30d,
    {{ pct('coalesce(subscriptions.seats_active_30d, 0)', 'subscriptions.seats_purchased') }} as utilisation_pct,
    coalesce(subscriptions.monthly_cost, 0) as monthly_cost,
    coalesce(subscriptions.monthly_cost, 0) * 12 as annual_cost,
    coalesce(subscriptions.wasted_monthly_cost, 0) as wasted_monthly_cost
from {{ ref('stg_saas__applications') }} as applications
left join subscriptions on applications.application_id = subscriptions.application_id
