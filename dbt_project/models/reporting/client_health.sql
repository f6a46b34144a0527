-- The health panel of the MSP dashboards: each active client's latest health score (0-100), its
-- band and the points each of the six factors adds to it (the six add up to the score), beside
-- the client's MRR and the values the factors read.
with health as (
    {{ latest_score_per_client(source('ml', 'client_health')) }}
)

select
    health.client_id,
    clients.client_name,
    clients.segment,
    clients.region,
    clients.current_mrr,
    health.health_score,
    health.health_band,
    health.contribution_csat,
    health.contribution_sla,
    health.contribution_ticket_trend,
    health.contribution_payment,
    health.contribution_renewal,
    health.contribution_breadth,
    health.factors_available,
    health.csat_score,
    health.sla_compliance,
    round(health.ticket_trend::numeric, 2) as ticket_trend,
    round(health.avg_days_late::numeric, 1) as avg_days_late,
    health.days_to_renewal,
    health.service_count,
    health.scored_at
from health
inner join {{ ref('clients') }} as clients
    on health.client_id = clients.client_id
