with latest as (
    {{ latest_per_key(source('psa', 'psa__tickets'), ['ticket_id']) }}
)

select
    ticket_id,
    client_id,
    priority,
    category,
    created_at,
    first_response_at,
    resolved_at,
    sla_response_met,
    sla_resolution_met,
    reopen_count::integer as reopen_count
from latest
