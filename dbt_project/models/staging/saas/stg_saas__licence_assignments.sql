with latest as (
    {{ latest_per_key(source('saas', 'saas__licence_assignments'),
                      ['subscription_id', 'employee_id', 'assigned_date']) }}
)

select
    {{ dbt.concat(["subscription_id", "'|'", "employee_id", "'|'", "assigned_date::text"]) }} as assignment_key,
    subscription_id,
    employee_id,
    assigned_date,
    unassigned_date
from latest
