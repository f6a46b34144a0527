-- The SaaS renewal calendar with right-sized seat counts: the seats needed are the held seats that
-- are not inactive (recent joiners included), plus a buffer of `seat_buffer_pct`.
with needed as (
    select
        subscription_id,
        count(*) filter (where not is_inactive)::integer as seats_needed
    from {{ ref('int_saas__seat_activity') }}
    group by 1
),

sized as (
    select
        subscriptions.*,
        coalesce(needed.seats_needed, 0) as seats_needed,
        ceil(coalesce(needed.seats_needed, 0) * (1 + {{ var('seat_buffer_pct') }} / 100.0))::integer
            as recommended_seats
    from {{ ref('stg_saas__subscriptions') }} as subscriptions
    left join needed on subscriptions.subscription_id = needed.subscription_id
)

select
    sized.subscription_id,
    sized.application_id,
    applications.application_name,
    applications.vendor,
    sized.department,
    sized.plan,
    sized.billing_period,
    sized.auto_renew,
    sized.renewal_date,
    sized.renewal_date - calendar.usage_as_of_date as days_to_renewal,
    case
        when sized.renewal_date < calendar.usage_as_of_date then 'overdue'
        when sized.renewal_date - calendar.usage_as_of_date <= 30 then '0-30 days'
        when sized.renewal_date - calendar.usage_as_of_date <= 60 then '31-60 days'
        when sized.renewal_date - calendar.usage_as_of_date <= 90 then '61-90 days'
        when sized.renewal_date - calendar.usage_as_of_date <= 120 then '91-120 days'
        else 'later'
    end as renewal_window,
    sized.seats_purchased,
    sized.seats_needed,
    sized.recommended_seats,
    greatest(sized.seats_purchased - sized.recommended_seats, 0) as seats_to_remove,
    sized.price_per_seat_month,
    greatest(sized.seats_purchased - sized.recommended_seats, 0) * sized.price_per_seat_month
        as monthly_saving,
    greatest(sized.seats_purchased - sized.recommended_seats, 0) * sized.price_per_seat_month * 12
        as annual_saving
from sized
cross join {{ ref('int_it__calendar') }} as calendar
inner join {{ ref('stg_saas__applications') }} as applications
    on sized.application_id = applications.application_id
