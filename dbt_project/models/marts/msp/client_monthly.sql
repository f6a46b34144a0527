{{ incremental_months_config() }}
-- One row per client and month: recurring revenue and its growth, invoiced revenue, labour, margin,
-- service levels, satisfaction and the health of the managed estate.
-- Gross margin = invoiced - labour cost - resale cost; effective hourly rate = (invoiced - resale
-- cost) / labour hours. Tickets count in the month they were opened, CSAT in the month answered.
-- Incremental by whole months, as int_client_months: from the earliest month whose sums changed
-- since the last build (growth reads back, so every later month too), and at least the latest month
-- held; every month of a client whose name, segment or region changed.
with
{% if is_incremental() -%}
{%- set changed_months = loaded_since_last_build(
    loaded_at_column='_source_loaded_at', watermark_column='_source_loaded_at'
) %}
recompute_from as (
    select
        least(
            (select max(month) from {{ this }}),
            (select min(month) from {{ ref('int_client_months') }} where {{ changed_months }}),
            {{ first_month_of_changed_clients(ref('int_client_months')) }}
        ) as month
),

{% endif -%}
all_months as (
    select * from {{ ref('int_client_months') }}
),

months as (
    select * from all_months
    {% if is_incremental() -%}
        where month >= (select month from recompute_from)
    {%- endif %}
)

select
    months.client_id,
    clients.client_name,
    clients.segment,
    clients.region,
    months.month,
    months.mrr,
    months.active_agreements,
    months.active_services,
    round(100.0 * (months.mrr - previous.mrr) / nullif(previous.mrr, 0), 1) as mrr_mom_growth_pct,
    round(100.0 * (months.mrr - last_year.mrr) / nullif(last_year.mrr, 0), 1) as mrr_yoy_growth_pct,
    months.revenue,
    months.invoices_issued,
    round(100.0 * (months.revenue - previous.revenue) / nullif(previous.revenue, 0), 1) as revenue_mom_growth_pct,
    round(100.0 * (months.revenue - last_year.revenue) / nullif(last_year.revenue, 0), 1) as revenue_yoy_growth_pct,
    months.labour_hours,
    months.billable_hours,
    round(months.labour_cost, 2) as labour_cost,
    months.resale_cost,
    round(months.revenue - months.labour_cost - months.resale_cost, 2) as gross_margin,
    {{ pct('months.revenue - months.labour_cost - months.resale_cost', 'months.revenue') }} as gross_margin_pct,
    round({{ safe_divide('months.revenue - months.resale_cost', 'months.labour_hours') }}, 2) as effective_hourly_rate,
    months.tickets_opened,
    months.p1_tickets,
    {{ pct('months.sla_response_met', 'months.sla_response_met + months.sla_response_missed') }}
        as sla_response_pct,
    {{ pct('months.sla_resolution_met', 'months.sla_resolution_met + months.sla_resolution_missed') }}
        as sla_resolution_pct,
    round({{ safe_divide('months.response_hours', 'months.tickets_responded') }}, 2) as mean_time_to_respond_h,
    round({{ safe_divide('months.resolution_hours', 'months.tickets_resolved') }}, 2) as mean_time_to_resolve_h,
    months.csat_responses,
    round({{ safe_divide('months.csat_score_sum', 'months.csat_responses') }}, 2) as csat_avg,
    months.managed_endpoints,
    round({{ safe_divide('months.tickets_opened', 'months.managed_endpoints') }}, 3) as tickets_per_endpoint,
    months.avg_patch_compliance_pct,
    months.avg_backup_success_pct,
    -- the newest load behind the row
    months._source_loaded_at
from months
left join {{ ref('stg_psa__clients') }} as clients
    on months.client_id = clients.client_id
left join all_months as previous
    on months.client_id = previous.client_id
        and previous.month = (months.month - interval '1 month')::date
left join all_months as last_year
    on months.client_id = last_year.client_id
        and last_year.month = (months.month - interval '12 months')::date
