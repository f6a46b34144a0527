select
    clients.client_id,
    clients.client_name,
    clients.segment,
    clients.region,
    active.month,
    sum(active.monthly_amount) as mrr,
    count(*)::integer as active_agreements
from {{ ref('int_agreements_active_by_month') }} as active
inner join {{ ref('stg_psa__clients') }} as clients
    on active.client_id = clients.client_id
group by 1, 2, 3, 4, 5
