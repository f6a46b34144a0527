-- A large, growing fact: an incremental table that takes only the rows loaded since its last
-- build (late rows for old days included) and replaces earlier versions by key.
{{ incremental_fact_config('time_entry_id', ['client_id', 'started_at'], date_column='started_at',
                         raw_table=('psa', 'psa__time_entries')) }}

with latest as (
    {{ latest_per_key(source('psa', 'psa__time_entries'), ['time_entry_id'],
                      where=loaded_since_last_build()) }}
)

select
    time_entry_id,
    ticket_id,
    client_id,
    agreement_id,
    technician_id,
    started_at,
    hours,
    billable as is_billable,
    cost_rate,
    _loaded_at
from latest
