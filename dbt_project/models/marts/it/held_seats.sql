-- Every seat held today with its holder's last activity, the subscription's price per seat and the
-- day usage data runs to (the "today" of seat activity): the seats the ml/recommendations asset
-- judges for reclaiming, right-sizing and consolidation.
select
    seats.subscription_id,
    seats.employee_id,
    seats.application_id,
    seats.assigned_date,
    seats.last_active_date,
    seats.usage_as_of_date,
    subscriptions.price_per_seat_month::float as monthly_price,
    subscriptions.application_name
from {{ ref('int_saas__seat_activity') }} as seats
inner join {{ ref('subscription_utilisation') }} as subscriptions
    on seats.subscription_id = subscriptions.subscription_id
