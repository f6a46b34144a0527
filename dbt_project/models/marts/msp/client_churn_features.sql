-- One row per client: behaviour in the 90 days before its last active month, and whether it left.
with last_month as (
    select client_id, max(month) as last_active_month, max(mrr) as peak_mrr
    from {{ ref('client_monthly_mrr') }}
    group by 1
),

window_bounds as (
    select client_id, (last_active_month + interval '1 month')::date as window_end, peak_mrr
    from last_month
),

ticket_stats as (
    select
        tickets.client_id,
        count(*) as tickets_90d,
        count(*) filter (where tickets.priority = 'P1') as p1_tickets_90d,
        avg(case when tickets.sla_response_met then 0 else 1 end) as sla_miss_rate_90d,
        avg(tickets.reopen_count) as avg_reopens_90d
    from {{ ref('stg_psa__tickets') }} as tickets
    inner join window_bounds
        on tickets.client_id = window_bounds.client_id
        and tickets.created_at >= window_bounds.window_end - interval '90 days'
        and tickets.created_at < window_bounds.window_end
    group by 1
),

churned as (
    select client_id, bool_and(is_cancelled) as has_churned
    from {{ ref('stg_psa__agreements') }}
    where agreement_type = 'managed_services'
    group by 1
)

select
    clients.client_id,
    clients.segment,
    clients.region,
    clients.industry,
    clients.employee_count,
    coalesce(window_bounds.peak_mrr, 0) as mrr,
    coalesce(ticket_stats.tickets_90d, 0) as tickets_90d,
    coalesce(ticket_stats.p1_tickets_90d, 0) as p1_tickets_90d,
    coalesce(ticket_stats.sla_miss_rate_90d, 0) as sla_miss_rate_90d,
    coalesce(ticket_stats.avg_reopens_90d, 0) as avg_reopens_90d,
    coalesce(churned.has_churned, false) as has_churned
from {{ ref('stg_psa__clients') }} as clients
left join window_bounds on clients.client_id = window_bounds.client_id
left join ticket_stats on clients.client_id = ticket_stats.client_id
left join churned on clients.client_id = churned.client_id
