-- Seats purchased, assigned and active per SaaS subscription, judged on the latest day with usage
-- data so a late export does not read as idle seats. Active = the holder used the application in
-- the last 30/60/90 days. Wasted = seats not active in 30 days x price per seat.
with seats as (
    select
        subscription_id,
        count(*)::integer as seats_assigned,
        count(*) filter (where is_active_30d)::integer as seats_active_30d,
        count(*) filter (where is_active_60d)::integer as seats_active_60d,
        count(*) filter (where is_active_90d)::integer as seats_active_90d
    from {{ ref('int_saas__seat_activity') }}
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
    {{ pct('coalesce(seats.seats_active_30d, 0)', 'subscriptions.seats_purchased') }} as utilisation_pct,
    round(subscriptions.seats_purchased * subscriptions.price_per_seat_month, 2) as monthly_cost,
    round(
        (subscriptions.seats_purchased - coalesce(seats.seats_active_30d, 0))
        * subscriptions.price_per_seat_month, 2
    ) as wasted_monthly_cost,
    subscriptions.application_id,
    applications.category,
    subscriptions.price_per_seat_month,
    subscriptions.billing_period,
    subscriptions.renewal_date,
    coalesce(seats.seats_active_60d, 0) as seats_active_60d,
    coalesce(seats.seats_active_90d, 0) as seats_active_90d,
    subscriptions.seats_purchased - coalesce(seats.seats_assigned, 0) as seats_unassigned,
    calendar.usage_as_of_date
from {{ ref('stg_saas__subscriptions') }} as subscriptions
cross join {{ ref('int_it__calendar') }} as calendar
inner join {{ ref('stg_saas__applications') }} as applications
    on subscriptions.application_id = applications.application_id
left join seats
    on subscriptions.subscription_id = seats.subscription_id
