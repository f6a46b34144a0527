-- Each active client's six health inputs, named as ml_assets/health_weights.toml reads them (the
-- ml/client_health asset scores them): the latest monthly snapshot's CSAT, SLA and ticket trend
-- (last 3 months against the 3 before), days invoices were paid late over the last 6 months (an
-- unpaid overdue invoice counts as late so far), days to the managed-services agreement's next
-- renewal, and the services under agreement now.
with calendar as (
    select as_of_date from {{ ref('int_psa__calendar') }}
),

latest as (
    select distinct on (client_id) *
    from {{ ref('client_churn_features') }}
    order by client_id asc, snapshot_month desc
),

payments as (
    select
        invoices.client_id,
        avg(greatest(coalesce(invoices.paid_date, calendar.as_of_date) - invoices.due_date, 0))::float
            as avg_days_late
    from {{ ref('int_invoices_costed') }} as invoices
    cross join calendar
    where invoices.due_date <= calendar.as_of_date and invoices.due_date > calendar.as_of_date - 183
    group by 1
),

renewals as (
    select
        client_id,
        min(days_to_renewal) as days_to_renewal
    from {{ ref('agreement_renewals') }}
    where agreement_type = 'managed_services'
    group by 1
)

select
    clients.client_id,
    clients.client_name,
    clients.segment,
    clients.current_mrr,
    latest.snapshot_month,
    latest.csat_avg_3m::float as csat_score,
    case when latest.tickets_3m > 0 then 1 - latest.sla_miss_rate_3m::float end as sla_compliance,
    latest.tickets_3m::float / nullif(latest.tickets_3m - latest.tickets_3m_change, 0) as ticket_trend,
    payments.avg_days_late,
    renewals.days_to_renewal,
    clients.active_services as service_count
from {{ ref('clients') }} as clients
left join latest on clients.client_id = latest.client_id
left join payments on clients.client_id = payments.client_id
left join renewals on clients.client_id = renewals.client_id
where clients.is_active
