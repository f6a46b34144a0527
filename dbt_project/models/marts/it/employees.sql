-- One row per employee (leavers included): where they sit, the seats they hold, what those cost,
-- and when they were last active in any SaaS application or in Microsoft 365.
with seats as (
    select
        seats.employee_id,
        count(*)::integer as seats_held,
        count(*) filter (where seats.is_inactive)::integer as inactive_seats,
        sum(subscriptions.price_per_seat_month) as monthly_licence_cost,
        max(seats.last_active_date) as last_active_date
    from {{ ref('int_saas__seat_activity') }} as seats
    inner join {{ ref('stg_saas__subscriptions') }} as subscriptions
        on seats.subscription_id = subscriptions.subscription_id
    group by 1
),

m365 as (
    select distinct on (user_principal_name)
        user_principal_name,
        report_refresh_date,
        assigned_products,
        greatest(
            exchange_last_activity_date, onedrive_last_activity_date, sharepoint_last_activity_date,
            skype_for_business_last_activity_date, yammer_last_activity_date, teams_last_activity_date)
            as last_activity_date
    from {{ ref('stg_m365__active_user_detail') }}
    order by user_principal_name asc, report_refresh_date desc
)

select
    employees.employee_id,
    employees.user_principal_name,
    employees.display_name,
    employees.department,
    employees.cost_center,
    employees.hired_date,
    employees.terminated_date,
    employees.terminated_date is null or employees.terminated_date > calendar.usage_as_of_date as is_employed,
    coalesce(seats.seats_held, 0) as seats_held,
    coalesce(seats.inactive_seats, 0) as inactive_seats,
    coalesce(seats.monthly_licence_cost, 0) as monthly_licence_cost,
    seats.last_active_date as saas_last_active_date,
    m365.assigned_products as m365_assigned_products,
    m365.last_activity_date as m365_last_activity_date
from {{ ref('stg_hr__employees') }} as employees
cross join {{ ref('int_it__calendar') }} as calendar
left join seats on employees.employee_id = seats.employee_id
left join m365 on employees.user_principal_name = m365.user_principal_name
