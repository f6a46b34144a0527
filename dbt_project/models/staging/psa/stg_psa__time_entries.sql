with latest as (
    {{ latest_per_key(source('psa', 'psa__time_entries'), ['time_entry_id']) }}
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
    cost_rate
from latest
