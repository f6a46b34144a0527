with latest as (
    {{ latest_per_key(source('saas', 'saas__applications'), ['application_id']) }}
)

select
    application_id,
    application_name,
    vendor,
    category,
    sanctioned as is_sanctioned
from latest
