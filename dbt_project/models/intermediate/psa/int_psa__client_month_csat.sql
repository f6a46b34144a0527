-- CSAT survey answers per client and month of response.
select
    client_id,
    date_trunc('month', responded_at)::date as month,
    count(*)::integer as csat_responses,
    sum(score)::integer as csat_score_sum,
    max(_loaded_at) as _source_loaded_at
from {{ ref('stg_psa__csat_responses') }}
group by 1, 2
