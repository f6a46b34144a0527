with latest as (
    {{ latest_per_key(source('psa', 'psa__csat_responses'), ['response_id']) }}
)

select
    response_id,
    client_id,
    ticket_id,
    responded_at,
    score::integer as score
from latest
