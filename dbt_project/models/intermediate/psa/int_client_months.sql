{{ config(materialized='table') }}
-- Every client and month of the MSP history in which the client had recurring revenue, invoices,
-- tickets, technician time, CSAT answers or RMM snapshots, with the month's raw sums from each.
-- Ratios and growth are computed in the marts, from these additive sums.
-- A table of tens of thousands of rows rebuilt whole in every build, from the incremental monthly
-- aggregates of the large facts.
with calendar as (
    select
        first_month,
        last_month
    from {{ ref('int_psa__calendar') }}
),

-- by type first: two hashed aggregations instead of a sort of every agreement-month for a distinct count
recurring_by_type as (
    select
        client_id,
        month,
        agreement_type,
        sum(monthly_amount) as mrr,
        count(*) as active_agreements,
        max(_loaded_at) as _loaded_at
    from {{ ref('int_agreements_active_by_month') }}
    group by 1, 2, 3
),

recurring as (
    select
        client_id,
        month,
        sum(mrr) as mrr,
        sum(active_agreements)::integer as active_agreements,
        count(agreement_type)::integer as active_services,
        max(_loaded_at) as _loaded_at
    from recurring_by_type
    group by 1, 2
),

invoiced as (
    select
        client_id,
        invoice_month as month,
        count(*)::integer as invoices_issued,
        sum(amount) as revenue,
        sum(resale_cost) as resale_cost,
        max(_loaded_at) as _loaded_at
    from {{ ref('int_invoices_costed') }}
    group by 1, 2
),

payments_due as (
    select
        client_id,
        date_trunc('month', due_date)::date as month,
        count(*)::integer as invoices_due,
        count(*) filter (where is_paid_late)::integer as invoices_paid_late,
        max(_loaded_at) as _loaded_at
    from {{ ref('int_invoices_costed') }}
    group by 1, 2
),

labour as (
    select
        client_id,
        month,
        sum(labour_hours) as labour_hours,
        sum(billable_hours) as billable_hours,
        sum(labour_cost) as labour_cost,
        max(_source_loaded_at) as _loaded_at
    from {{ ref('int_psa__agreement_month_labour') }}
    group by 1, 2
),

tickets as (
    select * from {{ ref('int_psa__client_month_tickets') }}
),

csat as (
    select * from {{ ref('int_psa__client_month_csat') }}
),

health as (
    select * from {{ ref('int_rmm__client_month_health') }}
),

spine as (
    select
        client_id,
        month
    from recurring
    union
    select
        client_id,
        month
    from invoiced
    union
    select
        client_id,
        month
    from payments_due
    union
    select
        client_id,
        month
    from labour
    union
    select
        client_id,
        month
    from tickets
    union
    select
        client_id,
        month
    from csat
    union
    select
        client_id,
        month
    from health
)

select
    spine.client_id,
    spine.month,
    coalesce(recurring.mrr, 0) as mrr,
    coalesce(recurring.active_agreements, 0) as active_agreements,
    coalesce(recurring.active_services, 0) as active_services,
    coalesce(invoiced.invoices_issued, 0) as invoices_issued,
    coalesce(invoiced.revenue, 0) as revenue,
    coalesce(invoiced.resale_cost, 0) as resale_cost,
    coalesce(payments_due.invoices_due, 0) as invoices_due,
    coalesce(payments_due.invoices_paid_late, 0) as invoices_paid_late,
    coalesce(labour.labour_hours, 0) as labour_hours,
    coalesce(labour.billable_hours, 0) as billable_hours,
    coalesce(labour.labour_cost, 0) as labour_cost,
    coalesce(tickets.tickets_opened, 0) as tickets_opened,
    coalesce(tickets.p1_tickets, 0) as p1_tickets,
    coalesce(tickets.sla_response_met, 0) as sla_response_met,
    coalesce(tickets.sla_response_missed, 0) as sla_response_missed,
    coalesce(tickets.sla_resolution_met, 0) as sla_resolution_met,
    coalesce(tickets.sla_resolution_missed, 0) as sla_resolution_missed,
    coalesce(tickets.tickets_responded, 0) as tickets_responded,
    coalesce(tickets.response_hours, 0) as response_hours,
    coalesce(tickets.tickets_resolved, 0) as tickets_resolved,
    coalesce(tickets.resolution_hours, 0) as resolution_hours,
    coalesce(tickets.reopens, 0) as reopens,
    coalesce(csat.csat_responses, 0) as csat_responses,
    coalesce(csat.csat_score_sum, 0) as csat_score_sum,
    health.managed_endpoints,
    health.avg_patch_compliance_pct,
    health.avg_backup_success_pct,
    -- the newest load behind the row
    greatest(
        recurring._loaded_at, invoiced._loaded_at, payments_due._loaded_at, labour._loaded_at,
        tickets._source_loaded_at, csat._source_loaded_at, health._source_loaded_at
    ) as _source_loaded_at
from spine
cross join calendar
left join recurring on spine.client_id = recurring.client_id and spine.month = recurring.month
left join invoiced on spine.client_id = invoiced.client_id and spine.month = invoiced.month
left join payments_due on spine.client_id = payments_due.client_id and spine.month = payments_due.month
left join labour on spine.client_id = labour.client_id and spine.month = labour.month
left join tickets on spine.client_id = tickets.client_id and spine.month = tickets.month
left join csat on spine.client_id = csat.client_id and spine.month = csat.month
left join health on spine.client_id = health.client_id and spine.month = health.month
where spine.month between calendar.first_month and calendar.last_month
