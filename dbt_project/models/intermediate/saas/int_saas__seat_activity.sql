{{ config(materialized='table') }}
-- Each held seat with its holder's last activity in the application, judged on the latest day with
-- usage data. A seat is inactive when its holder has not been active for `inactive_after_days`;
-- seats assigned more recently than that are too new to judge.
select
    seats.subscription_id,
    seats.employee_id,
    seats.application_id,
    seats.assigned_date,
    activity.last_active_date,
    calendar.usage_as_of_date,
    coalesce(activity.last_active_date > calendar.usage_as_of_date - 30, false) as is_active_30d,
    coalesce(activity.last_active_date > calendar.usage_as_of_date - 60, false) as is_active_60d,
    coalesce(activity.last_active_date > calendar.usage_as_of_date - 90, false) as is_active_90d,
    seats.assigned_date <= calendar.usage_as_of_date - {{ var('inactive_after_days') }}
    and coalesce(activity.last_active_date <= calendar.usage_as_of_date - {{ var('inactive_after_days') }}, true)
        as is_inactive
from {{ ref('int_saas__seats_held') }} as seats
cross join {{ ref('int_it__calendar') }} as calendar
left join {{ ref('int_saas__last_activity') }} as activity
    on seats.employee_id = activity.employee_id
        and seats.application_id = activity.application_id
