-- A growing fact: an incremental table that takes only the rows loaded since its last build and
-- replaces earlier versions by key (a paid invoice is re-delivered with its paid_date).
{{ incremental_fact_config('invoice_id', ['client_id'], raw_table=('psa', 'psa__invoices')) }}

with latest as (
    {{ latest_per_key(source('psa', 'psa__invoices'), ['invoice_id'], where=loaded_since_last_build()) }}
)

select
    invoice_id,
    client_id,
    agreement_id,
    issued_date,
    due_date,
    paid_date,
    amount,
    _loaded_at
from latest
