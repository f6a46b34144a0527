-- Incremental by month: without a change to any agreement or client, only the months from the
-- latest one built can change (a new day moves the current month on); any such change recomputes
-- everything (macros/client_months.sql).
{{ month_model_config(['client_id', 'month'], 'client_mrr_rebuild_from()') }}
-- depends_on: {{ ref('stg_psa__agreements') }}
{%- set rebuild_from = client_mrr_rebuild_from() %}
select
    clients.client_id,
    clients.client_name,
    clients.segment,
    clients.region,
    active.month,
    sum(active.monthly_amount) as mrr,
    count(*)::integer as active_agreements,
    -- the newest agreement or client load behind the row: the next incremental build's watermark
    greatest(max(active._loaded_at), max(clients._loaded_at)) as _source_loaded_at
from {{ ref('int_agreements_active_by_month') }} as active
inner join {{ ref('stg_psa__clients') }} as clients
    on active.client_id = clients.client_id
{%- if rebuild_from %}
where active.month >= '{{ rebuild_from }}'::date
{%- endif %}
group by 1, 2, 3, 4, 5
