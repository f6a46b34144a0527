-- A growing fact: an incremental table that takes only the rows loaded since its last build and
-- replaces earlier versions by key.
{{ incremental_fact_config('response_id', ['client_id'], raw_table=('psa', 'psa__csat_responses')) }}

with latest as (
    {{ latest_per_key(source('psa', 'psa__csat_responses'), ['response_id'], where=loaded_since_last_build()) }}
)

select
    response_id,
    client_id,
    ticket_id,
    responded_at,
    score::integer as score,
    _loaded_at
from latest
