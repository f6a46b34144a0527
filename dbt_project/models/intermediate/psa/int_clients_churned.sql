-- When each client stopped being a managed-services client: the last cancellation date once every
-- managed-services agreement it had is cancelled (null while any is running, or it never had one).
select
    client_id,
    min(start_date) as first_managed_start_date,
    case when bool_and(is_cancelled) then max(cancelled_date) end as churn_date
from {{ ref('stg_psa__agreements') }}
where agreement_type = 'managed_services'
group by 1
