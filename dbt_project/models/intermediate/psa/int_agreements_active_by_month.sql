-- One row per agreement and month-end at which it was active and billing.
-- Incremental by month: the rows follow from the agreements and the span of months only. With no
-- agreement loaded since the last build, the months before the latest one it holds (or the new end
-- of the span, if earlier) are final, and that month and any new ones are recomputed; a changed
-- agreement recomputes everything (macros/client_months.sql).
{{ month_model_config(['agreement_id', 'month'], 'agreement_months_rebuild_from()', loaded_at_column='_loaded_at') }}
{%- set rebuild_from = agreement_months_rebuild_from() %}
with months as (
    select
        (date_trunc('month', month_start) + interval '1 month - 1 day')::date as month_end,
        month_start::date as month_start
    from generate_series(
            (select date_trunc('month', min(start_date)) from {{ ref('stg_psa__agreements') }}),
            {{ agreement_months_end() }},
            interval '1 month'
        ) as month_start
)

select
    agreements.agreement_id,
    agreements.client_id,
    agreements.agreement_type,
    months.month_start as month,
    agreements.monthly_amount,
    -- the agreement's load: the next incremental build's watermark
    agreements._loaded_at
from {{ ref('stg_psa__agreements') }} as agreements
inner join months
    on agreements.start_date <= months.month_end
        and (agreements.cancelled_date is null or agreements.cancelled_date > months.month_end)
        and (agreements.end_date is null or agreements.end_date > months.month_end)
{%- if rebuild_from %}
where months.month_start >= '{{ rebuild_from }}'::date
{%- endif %}
