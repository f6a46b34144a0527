-- Each invoice with the resale cost behind it (what the MSP pays for the units it bills) and
-- whether it was paid on time, as known on the calendar's as-of date.
select
    invoices.invoice_id,
    invoices.client_id,
    invoices.agreement_id,
    agreements.agreement_type,
    date_trunc('month', invoices.issued_date)::date as invoice_month,
    invoices.issued_date,
    invoices.due_date,
    invoices.paid_date,
    invoices.amount,
    coalesce(agreements.units * agreements.unit_cost, 0) as resale_cost,
    coalesce(invoices.paid_date > invoices.due_date, invoices.due_date < calendar.as_of_date) as is_paid_late,
    invoices._loaded_at
from {{ ref('stg_psa__invoices') }} as invoices
cross join {{ ref('int_psa__calendar') }} as calendar
left join {{ ref('stg_psa__agreements') }} as agreements
    on invoices.agreement_id = agreements.agreement_id
