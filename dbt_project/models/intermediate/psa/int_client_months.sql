{{ incremental_months_config() }}
-- Every client and month of the MSP history in which the client had recurring revenue, invoices,
-- tickets, technician time, CSAT answers or RMM snapshots, with the month's raw sums from each.
-- Ratios and growth are computed in the marts, from these additive sums.
-- Incremental, by whole months (delete+insert on the month): a build recomputes every month from
-- the earliest one its inputs received rows for since the last build (a late ticket's month, the
-- first month of a changed agreement), and at least the latest month the table holds (its unpaid
-- invoices turn late as "now" moves on) and every month after it (a new month brings
-- agreement-months of old agreements). A daily build recomputes the current month, not the history.
-- depends_on: {{ ref('stg_psa__csat_responses') }}
with
{% if is_incremental() -%}
{%- set new_rows = loaded_since_last_build(watermark_column='_source_loaded_at') -%}
{%- set new_aggregate_rows = loaded_since_last_build(
    loaded_at_column='_source_loaded_at', watermark_column='_source_loaded_at'
) %}
recompute_from as (
    select
        least(
            (select max(month) from {{ this }}),
            (select min(month) from {{ ref('int_agreements_active_by_month') }} where {{ new_rows }}),
            (
                select min(least(invoice_month, date_trunc('month', due_date)::date))
                from {{ ref('int_invoices_costed') }}
                where {{ new_rows }}
            ),
            (select min(month) from {{ ref('int_psa__agreement_month_labour') }} where {{ new_aggregate_rows }}),
            (select min(month) from {{ ref('int_psa__client_month_tickets') }} where {{ new_aggregate_rows }}),
            -- the answers themselves: their monthly view aggregates every answer before it can filter
            (
                select min(date_trunc('month', responded_at))::date from {{ ref('stg_psa__csat_responses') }}
                where {{ new_rows }}
            ),
            (select min(month) from {{ ref('int_rmm__client_month_health') }} where {{ new_aggregate_rows }})
        ) as month
),

{% endif -%}
-- the months this build computes: the calendar's, from the first to recompute on an incremental build
calendar as (
    select
        {% if is_incremental() -%}
            greatest(first_month, (select month from recompute_from)) as first_month,
        {%- else -%}
            first_month,
        {%- endif %}
        last_month
    from {{ ref('int_psa__calendar') }}
),

-- by type first: two hashed aggregations instead of a sort of every agreement-month for a distinct count
recurring_by_type as (
    select
        active.client_id,
        active.month,
        active.agreement_type,
        sum(active.monthly_amount) as mrr,
        count(*) as active_agreements,
        max(active._loaded_at) as _loaded_at
    from {{ ref('int_agreements_active_by_month') }} as active
    -- agreements may have started long before the history
    inner join calendar
        on active.month between calendar.first_month and calendar.last_month
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
    where invoice_month >= (select calendar.first_month from calendar)
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
    where due_date >= (select calendar.first_month from calendar)
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
    where month >= (select calendar.first_month from calendar)
    group by 1, 2
),

tickets as (
    select * from {{ ref('int_psa__client_month_tickets') }}
    where month >= (select calendar.first_month from calendar)
),

csat as (
    select * from {{ ref('int_psa__client_month_csat') }}
    where month >= (select calendar.first_month from calendar)
),

health as (
    select * from {{ ref('int_rmm__client_month_health') }}
    where month >= (select calendar.first_month from calendar)
),

-- Each source's client-months joined on the client-month itself (full joins: a month may appear in
-- any one source only), then limited to the calendar.
joined as (
    select
        client_id,
        month,
        recurring.mrr,
        recurring.active_agreements,
        recurring.active_services,
        invoiced.invoices_issued,
        invoiced.revenue,
        invoiced.resale_cost,
        payments_due.invoices_due,
        payments_due.invoices_paid_late,
        labour.labour_hours,
        labour.billable_hours,
        labour.labour_cost,
        tickets.tickets_opened,
        tickets.p1_tickets,
        tickets.sla_response_met,
        tickets.sla_response_missed,
        tickets.sla_resolution_met,
        tickets.sla_resolution_missed,
        tickets.tickets_responded,
        tickets.response_hours,
        tickets.tickets_resolved,
        tickets.resolution_hours,
        tickets.reopens,
        csat.csat_responses,
        csat.csat_score_sum,
        health.managed_endpoints,
        health.avg_patch_compliance_pct,
        health.avg_backup_success_pct,
        -- the newest load behind the row
        greatest(
            recurring._loaded_at, invoiced._loaded_at, payments_due._loaded_at, labour._loaded_at,
            tickets._source_loaded_at, csat._source_loaded_at, health._source_loaded_at
        ) as _source_loaded_at
    from recurring
    full outer join invoiced using (client_id, month)
    full outer join payments_due using (client_id, month)
    full outer join labour using (client_id, month)
    full outer join tickets using (client_id, month)
    full outer join csat using (client_id, month)
    full outer join health using (client_id, month)
)

select
    joined.client_id,
    joined.month,
    coalesce(joined.mrr, 0) as mrr,
    coalesce(joined.active_agreements, 0) as active_agreements,
    coalesce(joined.active_services, 0) as active_services,
    coalesce(joined.invoices_issued, 0) as invoices_issued,
    coalesce(joined.revenue, 0) as revenue,
    coalesce(joined.resale_cost, 0) as resale_cost,
    coalesce(joined.invoices_due, 0) as invoices_due,
    coalesce(joined.invoices_paid_late, 0) as invoices_paid_late,
    coalesce(joined.labour_hours, 0) as labour_hours,
    coalesce(joined.billable_hours, 0) as billable_hours,
    coalesce(joined.labour_cost, 0) as labour_cost,
    coalesce(joined.tickets_opened, 0) as tickets_opened,
    coalesce(joined.p1_tickets, 0) as p1_tickets,
    coalesce(joined.sla_response_met, 0) as sla_response_met,
    coalesce(joined.sla_response_missed, 0) as sla_response_missed,
    coalesce(joined.sla_resolution_met, 0) as sla_resolution_met,
    coalesce(joined.sla_resolution_missed, 0) as sla_resolution_missed,
    coalesce(joined.tickets_responded, 0) as tickets_responded,
    coalesce(joined.response_hours, 0) as response_hours,
    coalesce(joined.tickets_resolved, 0) as tickets_resolved,
    coalesce(joined.resolution_hours, 0) as resolution_hours,
    coalesce(joined.reopens, 0) as reopens,
    coalesce(joined.csat_responses, 0) as csat_responses,
    coalesce(joined.csat_score_sum, 0) as csat_score_sum,
    joined.managed_endpoints,
    joined.avg_patch_compliance_pct,
    joined.avg_backup_success_pct,
    joined._source_loaded_at
from joined
cross join calendar
where joined.month between calendar.first_month and calendar.last_month
