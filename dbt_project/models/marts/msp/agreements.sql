-- One row per agreement: terms, state on the as-of date, and profitability over its life:
-- gross margin = invoiced - labour cost - resale cost (units x unit cost for every invoiced month);
-- effective hourly rate = (invoiced - resale cost) / labour hours booked against the agreement.
with invoiced as (
    select
        agreement_id,
        count(*)::integer as invoices_issued,
        sum(amount) as billed_total,
        sum(resale_cost) as resale_cost_total
    from {{ ref('int_invoices_costed') }}
    group by 1
),

labour as (
    select
        agreement_id,
        sum(labour_hours) as labour_hours,
        sum(labour_cost) as labour_cost
    from {{ ref('int_psa__agreement_month_labour') }}
    where agreement_id is not null
    group by 1
)

select
    agreements.agreement_id,
    agreements.client_id,
    agreements.agreement_type,
    agreements.start_date,
    agreements.end_date,
    agreements.is_cancelled,
    agreements.cancelled_date,
    agreements.cancellation_reason,
    agreements.start_date <= calendar.as_of_date
    and (agreements.cancelled_date is null or agreements.cancelled_date > calendar.as_of_date)
    and (agreements.end_date is null or agreements.end_date > calendar.as_of_date) as is_active,
    agreements.monthly_amount,
    agreements.units,
    agreements.unit_price,
    agreements.unit_cost,
    coalesce(agreements.units * agreements.unit_cost, 0) as monthly_resale_cost,
    coalesce(invoiced.invoices_issued, 0) as invoices_issued,
    coalesce(invoiced.billed_total, 0) as billed_total,
    coalesce(invoiced.resale_cost_total, 0) as resale_cost_total,
    coalesce(labour.labour_hours, 0) as labour_hours,
    round(coalesce(labour.labour_cost, 0), 2) as labour_cost,
    round(
        coalesce(invoiced.billed_total, 0) - coalesce(labour.labour_cost, 0)
        - coalesce(invoiced.resale_cost_total, 0), 2
    ) as gross_margin,
    {{ pct('coalesce(invoiced.billed_total, 0) - coalesce(labour.labour_cost, 0)'
           ' - coalesce(invoiced.resale_cost_total, 0)', 'invoiced.billed_total') }}
        as gross_margin_pct,
    round({{ safe_divide('coalesce(invoiced.billed_total, 0) - coalesce(invoiced.resale_cost_total, 0)',
                         'labour.labour_hours') }}, 2) as effective_hourly_rate
from {{ ref('stg_psa__agreements') }} as agreements
cross join {{ ref('int_psa__calendar') }} as calendar
left join invoiced on agreements.agreement_id = invoiced.agreement_id
left join labour on agreements.agreement_id = labour.agreement_id
