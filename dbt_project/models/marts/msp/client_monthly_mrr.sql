{{ incremental_months_config() }}
-- Recurring revenue per client and month, from the agreements active at each month end.
-- Incremental by whole months, as client_monthly: from the first month of an agreement or client
-- loaded since the last build, and at least the latest month held (a new month brings
-- agreement-months of old agreements).
with
{% if is_incremental() -%}
{%- set changed_rows = loaded_since_last_build(watermark_column='_source_loaded_at') %}
recompute_from as (
    select
        least(
            (select max(month) from {{ this }}),
            (select min(month) from {{ ref('int_agreements_active_by_month') }} where {{ changed_rows }}),
            {{ first_month_of_changed_clients(ref('int_agreements_active_by_month')) }}
        ) as month
),

{% endif -%}
active as (
    select * from {{ ref('int_agreements_active_by_month') }}
    {% if is_incremental() -%}
        where month >= (select month from recompute_from)
    {%- endif %}
)

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
from active
inner join {{ ref('stg_psa__clients') }} as clients
    on active.client_id = clients.client_id
group by 1, 2, 3, 4, 5
