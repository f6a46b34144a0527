{{ incremental_months_config('snapshot_month') }}
-- One row per client and monthly snapshot (each month end at which it had managed services), with
-- only what was known at that month end, and whether it then left within the churn horizon.
-- Trailing windows are the snapshot month and the two before it (3m), and the three before those
-- (prior 3m) for trends. Train only on rows whose outcome is observable.
-- Incremental by whole snapshot months: a build recomputes every month from the earliest one that
-- can have changed since the last build. Those are the months whose monthly sums changed (the windows
-- read them for six months on), the months of a changed managed agreement from its start and the
-- horizon before its cancellation (its label), every snapshot of a changed client, and the
-- snapshots still inside the horizon, whose outcome becomes observable as "now" moves on.
-- depends_on: {{ ref('stg_psa__agreements') }}
{%- set horizon = "interval '" ~ var('churn_horizon_days') ~ " days'" %}
with
{% if is_incremental() -%}
{%- set changed_sums = loaded_since_last_build(
    loaded_at_column='_source_loaded_at', watermark_column='_source_loaded_at'
) -%}
{%- set changed_rows = loaded_since_last_build(watermark_column='_source_loaded_at') %}
recompute_from as (
    select
        date_trunc('month', least(
            (select max(snapshot_month) - {{ horizon }} from {{ this }}),
            (select min(month) from {{ ref('int_client_months') }} where {{ changed_sums }}),
            (
                select min(least(start_date, cancelled_date - {{ horizon }}))
                from {{ ref('stg_psa__agreements') }}
                where agreement_type = 'managed_services' and {{ changed_rows }}
            ),
            {{ first_month_of_changed_clients(ref('int_client_snapshots_labelled'), 'snapshot_month') }}
        ) - interval '1 month')::date as month
),

{% endif -%}
snapshots as (
    select * from {{ ref('int_client_snapshots_labelled') }}
    {% if is_incremental() -%}
        where snapshot_month >= (select month from recompute_from)
    {%- endif %}
),

months as (
    select * from {{ ref('int_client_months') }}
    {% if is_incremental() -%}
        -- and the five months before, which the windows read
        where month >= (select month - interval '5 months' from recompute_from)
    {%- endif %}
),

-- Every snapshot month is a month of int_client_months (a running managed agreement is recurring
-- revenue), so the windows are read off each client's months in order: ranges of calendar months,
-- gaps included.
windows as (
    select
        client_id,
        month as snapshot_month,
        sum(tickets_opened) over last_3m as tickets_3m,
        sum(tickets_opened) over prior_3m as tickets_prior_3m,
        sum(p1_tickets) over last_3m as p1_tickets_3m,
        sum(sla_response_missed) over last_3m as sla_response_misses_3m,
        sum(sla_response_met + sla_response_missed) over last_3m as sla_tickets_3m,
        sum(reopens) over last_3m as reopens_3m,
        sum(csat_responses) over last_3m as csat_responses_3m,
        sum(csat_score_sum) over last_3m as csat_score_sum_3m,
        sum(invoices_due) over last_3m as invoices_due_3m,
        sum(invoices_paid_late) over last_3m as late_payments_3m,
        max(mrr) over three_months_before as mrr_3m_ago,
        max(_source_loaded_at) over last_6m as _source_loaded_at
    from months
    window
        by_month as (partition by client_id order by month),
        last_3m as (by_month range between interval '2 months' preceding and current row),
        prior_3m as (by_month range between interval '5 months' preceding and interval '3 months' preceding),
        three_months_before as (by_month range between interval '3 months' preceding and interval '3 months' preceding),
        last_6m as (by_month range between interval '5 months' preceding and current row)
)

select
    snapshots.client_id,
    snapshots.snapshot_month,
    clients.segment,
    clients.region,
    clients.industry,
    clients.employee_count,
    (
        extract(year from age(snapshots.snapshot_date, clients.onboarded_date)) * 12
        + extract(month from age(snapshots.snapshot_date, clients.onboarded_date))
    )::integer as tenure_months,
    coalesce(current_month.mrr, 0) as mrr,
    coalesce(windows.mrr_3m_ago, 0) as mrr_3m_ago,
    round(100.0 * (coalesce(current_month.mrr, 0) - windows.mrr_3m_ago) / nullif(windows.mrr_3m_ago, 0), 1)
        as mrr_change_3m_pct,
    coalesce(current_month.active_services, 0) as active_services,
    current_month.managed_endpoints,
    coalesce(windows.tickets_3m, 0)::integer as tickets_3m,
    coalesce(windows.tickets_3m, 0)::integer - coalesce(windows.tickets_prior_3m, 0)::integer as tickets_3m_change,
    coalesce(windows.p1_tickets_3m, 0)::integer as p1_tickets_3m,
    coalesce(windows.sla_response_misses_3m, 0)::integer as sla_response_misses_3m,
    coalesce(round(windows.sla_response_misses_3m::numeric / nullif(windows.sla_tickets_3m, 0), 3), 0)
        as sla_miss_rate_3m,
    coalesce(windows.reopens_3m, 0)::integer as reopens_3m,
    coalesce(windows.csat_responses_3m, 0)::integer as csat_responses_3m,
    round(windows.csat_score_sum_3m::numeric / nullif(windows.csat_responses_3m, 0), 2) as csat_avg_3m,
    coalesce(windows.invoices_due_3m, 0)::integer as invoices_due_3m,
    coalesce(windows.late_payments_3m, 0)::integer as late_payments_3m,
    current_month.avg_patch_compliance_pct,
    snapshots.churns_within_90d,
    snapshots.outcome_observable,
    -- the newest load behind the row
    greatest(snapshots._source_loaded_at, windows._source_loaded_at, clients._loaded_at) as _source_loaded_at
from snapshots
inner join {{ ref('stg_psa__clients') }} as clients
    on snapshots.client_id = clients.client_id
left join months as current_month
    on snapshots.client_id = current_month.client_id
        and snapshots.snapshot_month = current_month.month
left join windows
    on snapshots.client_id = windows.client_id
        and snapshots.snapshot_month = windows.snapshot_month
