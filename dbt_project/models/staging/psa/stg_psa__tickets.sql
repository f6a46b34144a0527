-- A large, growing fact: an incremental table that takes only the rows loaded since its last
-- build (late rows for old days included) and replaces earlier versions by key.
{{ incremental_fact_config('ticket_id', ['client_id', 'created_at'], date_column='created_at',
                         raw_table=('psa', 'psa__tickets')) }}

with latest as (
    {{ latest_per_key(source('psa', 'psa__tickets'), ['ticket_id'],
                      where=loaded_since_last_build()) }}
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
    reopen_count::integer as reopen_count,
    _loaded_at
from latest
