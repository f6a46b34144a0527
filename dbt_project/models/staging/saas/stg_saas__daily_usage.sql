with latest as (
    {{ latest_per_key(source('saas', 'saas__daily_usage'), ['usage_date', 'employee_id', 'application_id']) }}
)

select
    {{ dbt.concat(["usage_date::text", "'|'", "employee_id", "'|'", "application_id"]) }} as usage_key,
    usage_date,
    employee_id,
    application_id,
    active as is_active,
    activity_count::integer as activity_count
from latest
