with latest as (
    {{ latest_per_key(source('hr', 'hr__employees'), ['employee_id']) }}
)

select
    employee_id,
    user_principal_name,
    display_name,
    department,
    cost_center,
    hired_date,
    terminated_date
from latest
