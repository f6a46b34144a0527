-- Seats to reclaim: held seats whose holder has not used the application for `inactive_after_days`
-- (seats assigned more recently are not judged), with the money each wastes per month.
select
    {{ dbt.concat(["seats.subscription_id", "'|'", "seats.employee_id"]) }} as licence_key,
    seats.subscription_id,
    seats.application_id,
    applications.application_name,
    applications.vendor,
    subscriptions.department as subscription_department,
    -- the department that pays for the seat, under the name the dashboards filter on
    subscriptions.department,
    seats.employee_id,
    employees.user_principal_name,
    employees.department as employee_department,
    seats.assigned_date,
    seats.last_active_date,
    seats.usage_as_of_date - coalesce(seats.last_active_date, seats.assigned_date) as days_inactive,
    case
        when employees.terminated_date <= seats.usage_as_of_date then 'left_company'
        when seats.last_active_date is null then 'never_used'
        else 'stopped_using'
    end as reason,
    subscriptions.price_per_seat_month as wasted_monthly_cost
from {{ ref('int_saas__seat_activity') }} as seats
inner join {{ ref('stg_saas__subscriptions') }} as subscriptions
    on seats.subscription_id = subscriptions.subscription_id
inner join {{ ref('stg_saas__applications') }} as applications
    on seats.application_id = applications.application_id
left join {{ ref('stg_hr__employees') }} as employees
    on seats.employee_id = employees.employee_id
where seats.is_inactive
