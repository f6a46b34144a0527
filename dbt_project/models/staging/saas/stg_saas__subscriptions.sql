with latest as (
    {{ latest_per_key(source('saas', 'saas__subscriptions'), ['subscription_id']) }}
)

select
    subscription_id,
    application_id,
    plan,
    seats_purchased::integer as seats_purchased,
    price_per_seat_month,
    billing_period,
    start_date,
    renewal_date,
    auto_renew,
    department
from latest
