-- Recurring revenue per client and month, from the agreements active at each month end.
select
    clients.client_id,
    clients.client_name,
    clients.segment,
    clients.region,
    active.month,
    sum(active.monthly_amount) as mrr,
    count(*)::integer as active_agreements,
    -- the newest agreement or client load behind the row
    greatest(max(active._loaded_at), max(clients._loaded_at)) as _source_loaded_at
from {{ ref('int_agreements_active_by_month') }} as active
inner join {{ ref('stg_psa__clients') }} as clients
    on active.client_id = clients.client_id
group by 1, 2, 3, 4, 5
