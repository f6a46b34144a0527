-- The action list of both dashboards: every recommendation ranked by money per month, with the
-- client's name for MSP actions (IT actions have no client) and the money over a year.
select
    recommendations.rank,
    recommendations.kind,
    recommendations.audience,
    recommendations.subject_type,
    recommendations.subject_id,
    recommendations.client_id,
    clients.client_name,
    round(recommendations.monthly_impact::numeric, 2) as monthly_impact,
    round(12 * recommendations.monthly_impact::numeric, 2) as annual_impact,
    recommendations.reason,
    recommendations.details,
    recommendations.recommended_at
from {{ source('ml', 'recommendations') }} as recommendations
left join {{ ref('clients') }} as clients
    on recommendations.client_id = clients.client_id
