with latest as (
    {{ latest_per_key(source('psa', 'psa__clients'), ['client_id']) }}
)

select
    client_id,
    client_name,
    industry,
    segment,
    region,
    onboarded_date,
    employee_count::integer as employee_count,
    _loaded_at
from latest
