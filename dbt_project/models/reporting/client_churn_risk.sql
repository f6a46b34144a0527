-- The churn-risk table of the MSP dashboard: each scored client with its MRR at risk and the
-- signals of its latest monthly snapshot, so a reader sees why a client is at risk.
with scores as (
    {{ latest_score_per_client(source('ml', 'churn_scores'), ['client_id', 'churn_probability', 'scored_at']) }}
),

latest_snapshot as (
    select distinct on (client_id) *
    from {{ ref('client_churn_features') }}
    order by client_id asc, snapshot_month desc
)

select
    clients.client_id,
    clients.client_name,
    clients.segment,
    clients.region,
    clients.is_active,
    clients.current_mrr,
    scores.churn_probability,
    round((clients.current_mrr * scores.churn_probability)::numeric, 2) as mrr_at_risk,
    case
        when scores.churn_probability >= 0.5 then 'high'
        when scores.churn_probability >= 0.2 then 'medium'
        else 'low'
    end as risk_band,
    latest_snapshot.snapshot_month,
    latest_snapshot.mrr_change_3m_pct,
    latest_snapshot.tickets_3m,
    latest_snapshot.p1_tickets_3m,
    latest_snapshot.sla_miss_rate_3m,
    latest_snapshot.csat_avg_3m,
    latest_snapshot.late_payments_3m,
    scores.scored_at
from scores
inner join {{ ref('clients') }} as clients
    on scores.client_id = clients.client_id
left join latest_snapshot
    on scores.client_id = latest_snapshot.client_id
