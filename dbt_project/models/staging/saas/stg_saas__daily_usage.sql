-- A large, growing fact: an incremental table that takes only the rows loaded since its last
-- build (late rows for old days included) and replaces earlier versions by key.
{{ incremental_fact_config('usage_key', ['usage_date', 'application_id'], raw_table=('saas', 'saas__daily_usage')) }}

with latest as (
    {{ latest_per_key(source('saas', 'saas__daily_usage'), ['usage_date', 'employee_id', 'application_id'],
                      where=loaded_since_last_build()) }}
)

select
    {{ dbt.concat(["usage_date::text", "'|'", "employee_id", "'|'", "application_id"]) }} as usage_key,
    usage_date,
    employee_id,
    application_id,
    active as is_active,
    activity_count::integer as activity_count,
    _loaded_at
from latest
