-- Recurring revenue per month, service (agreement type), segment and region: the "MRR by service"
-- view of the portfolio dashboard, filterable by the same segment and region as its other tiles.
select
    {{ dbt.concat(["active.month::text", "'|'", "active.agreement_type", "'|'", "clients.segment", "'|'",
                   "clients.region"]) }} as service_month_key,
    active.month,
    active.agreement_type as service,
    clients.segment,
    clients.region,
    count(distinct active.client_id)::integer as clients,
    count(*)::integer as agreements,
    sum(active.monthly_amount) as mrr
from {{ ref('int_agreements_active_by_month') }} as active
cross join {{ ref('int_psa__calendar') }} as calendar
inner join {{ ref('stg_psa__clients') }} as clients
    on active.client_id = clients.client_id
-- the span of the portfolio's other figures
where active.month between calendar.first_month and calendar.last_month
group by 1, 2, 3, 4, 5
