-- The churn-risk table of the MSP dashboard: each scored client with its MRR at risk, in words the
-- model's top drivers that raise its risk (from the drivers stored with each score: the client's
-- value of a feature against the typical one, and the probability points it adds), and the
-- signals of its latest month.
with latest_scores as (
    select distinct on (client_id)
        client_id,
        drivers
    from {{ source('ml', 'churn_scores') }}
    order by client_id asc, scored_at desc
),

drivers as (
    select
        latest_scores.client_id,
        string_agg(
            replace(driver.item ->> 'feature', '_', ' ') || ' ' || coalesce(driver.item ->> 'value', 'missing')
            || ' (typical ' || coalesce(driver.item ->> 'typical', '?') || ', +'
            || round(100 * (driver.item ->> 'effect')::numeric) || ' pts)',
            '; ' order by driver.position
        ) as top_drivers
    from latest_scores
    cross join
        lateral jsonb_array_elements(coalesce(latest_scores.drivers, '[]')::jsonb)
        with ordinality as driver (item, position)
    where (driver.item ->> 'effect')::numeric > 0
    group by 1
)

select
    risk.client_id,
    risk.client_name,
    risk.segment,
    risk.region,
    risk.is_active,
    risk.current_mrr,
    risk.churn_probability,
    risk.mrr_at_risk,
    risk.risk_band,
    drivers.top_drivers,
    risk.csat_avg_3m,
    risk.sla_miss_rate_3m,
    risk.p1_tickets_3m,
    risk.late_payments_3m,
    risk.mrr_change_3m_pct,
    risk.scored_at
from {{ ref('client_churn_risk') }} as risk
left join drivers on risk.client_id = drivers.client_id
