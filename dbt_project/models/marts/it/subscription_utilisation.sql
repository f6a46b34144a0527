-- Utilisation as of the latest day with usage data, so a late export does not read as idle seats.
with as_of as (
    select max(usage_date) as usage_date from {{ ref('stg_saas__daily_usage') }}
),

held_seats as (
    select subscription_id, employee_id
    from {{ ref('stg_saas__licence_assignments') }}
    where unassigned_date is null
    group by 1, 2
),

active_users as (
    select distinct usage.application_id, usage.employee_id
    from {{ ref('stg_saas__daily_usage') }} as usage
    cross join as_of
    where usage.is_active and usage.usage_date > as_of.usage_date - 30
),

seats as (
    select
        held_seats.subscription_id,
        count(*)::integer as seats_assigned,
        count(active_users.employee_id)::integer as seats_active_30d
    from held_seats
    inner join {{ ref('stg_saas__subscriptions') }} as subscriptions
        on held_seats.subscription_id = subscriptions.subscription_id
    left join active_users
        on subscriptions.application_id = active_users.application_id
        and held_seats.employee_id = active_users.employee_id
    group by 1
)

select
    subscriptions.subscription_id,
    applications.application_name,
    applications.vendor,
    subscriptions.department,
    subscriptions.plan,
    subscriptions.seats_purchased,
    coalesce(seats.seats_assigned, 0) as seats_assigned,
    coalesce(seats.seats_active_30d, 0) as seats_active_30d,
    round(100.0 * coalesce(seats.seats_active_30d, 0) / nullif(subscriptions.seats_purchased, 0), 1)
        as utilisation_pct,
    round(subscriptions.seats_purchased * subscriptions.price_per_seat_month, 2) as monthly_cost,
    round((subscriptions.seats_purchased - coalesce(seats.seats_active_30d, 0))
          * subscriptions.price_per_seat_month, 2) as wasted_monthly_cost
from {{ ref('stg_saas__subscriptions') }} as subscriptions
inner join {{ ref('stg_saas__applications') }} as applications
    on subscriptions.application_id = applications.application_id
left join seats
    on subscriptions.subscription_id = seats.subscription_id
