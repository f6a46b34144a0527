-- Daily cloud and SaaS spend per department from the FOCUS cost files (the department tag).
select
    charge_date,
    department,
    sum(billed_cost) as billed_cost,
    sum(effective_cost) as effective_cost,
    sum(cost_rows)::integer as cost_rows
from {{ ref('int_focus__daily_spend') }}
group by 1, 2
