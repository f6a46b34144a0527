with latest as (
    {{ latest_per_key(source('psa', 'psa__invoices'), ['invoice_id']) }}
)

select
    invoice_id,
    client_id,
    agreement_id,
    issued_date,
    due_date,
    paid_date,
    amount
from latest
