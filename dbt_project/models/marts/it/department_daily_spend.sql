select
    charge_date,
    department,
    sum(billed_cost) as billed_cost,
    sum(effective_cost) as effective_cost,
    count(*)::integer as cost_rows
from {{ ref('stg_focus__costs') }}
group by 1, 2
