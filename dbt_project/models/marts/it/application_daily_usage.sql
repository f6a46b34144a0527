-- Active users and activity per application and day (the series the usage anomaly checks read).
select
    {{ dbt.concat(["usage.usage_date::text", "'|'", "usage.application_id"]) }} as usage_key,
    usage.usage_date,
    usage.application_id,
    applications.application_name,
    usage.users_reported,
    usage.active_users,
    usage.activity_count
from {{ ref('int_saas__daily_app_usage') }} as usage
left join {{ ref('stg_saas__applications') }} as applications
    on usage.application_id = applications.application_id
