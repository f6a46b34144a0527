-- All IT spend per day, from the FOCUS cost files and the SaaS subscriptions together, by
-- department, provider, vendor and application (a FOCUS service counts as an application).
-- A subscription costs seats x price per seat in every calendar month it runs, spread evenly over
-- the month's days, from its start over the days covered by the cost data.
with calendar as (
    select * from {{ ref('int_it__calendar') }}
),

subscription_days as (
    select
        subscriptions.subscription_id,
        subscriptions.department,
        applications.vendor,
        applications.application_name,
        applications.category,
        day::date as spend_date,
        subscriptions.seats_purchased * subscriptions.price_per_seat_month
        / extract(day from date_trunc('month', day) + interval '1 month - 1 day') as daily_cost
    from {{ ref('stg_saas__subscriptions') }} as subscriptions
    cross join calendar
    inner join {{ ref('stg_saas__applications') }} as applications
        on subscriptions.application_id = applications.application_id
    cross join lateral generate_series(
        greatest(subscriptions.start_date, calendar.spend_start_date)::timestamp,
        calendar.spend_end_date::timestamp,
        interval '1 day'
    ) as day
),

spend as (
    select
        charge_date as spend_date,
        'cloud' as spend_source,
        department,
        provider_name as provider,
        publisher_name as vendor,
        service_name as application,
        service_category as category,
        billed_cost,
        effective_cost
    from {{ ref('int_focus__daily_spend') }}
    union all
    select
        spend_date,
        'saas' as spend_source,
        department,
        vendor as provider,
        vendor,
        application_name as application,
        category,
        daily_cost as billed_cost,
        daily_cost as effective_cost
    from subscription_days
)

select
    {{ dbt.concat(["spend_date::text", "'|'", "spend_source", "'|'", "department", "'|'", "provider", "'|'",
                   "vendor", "'|'", "application"]) }} as spend_key,
    spend_date,
    spend_source,
    department,
    provider,
    vendor,
    application,
    max(category) as category,
    sum(billed_cost) as billed_cost,
    sum(effective_cost) as effective_cost
from spend
group by 1, 2, 3, 4, 5, 6, 7
