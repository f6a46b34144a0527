{# Config of an incremental model with one row per client and month, replaced whole when it changes.
   `_source_loaded_at` is indexed for the month plans, which look up the rows loaded since a watermark
   (as every month model's `_source_loaded_at` is, for its own watermark). #}
{% macro client_month_incremental_config() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['client_id', 'month'],
        indexes=[{'columns': ['client_id', 'month'], 'unique': true}, {'columns': ['_source_loaded_at']}]
    ) }}
{%- endmacro %}

{# Config of a month model: appended month by month after a pre-hook deletes the months to
   recompute, which `rebuild_from` (a call of one of the *_rebuild_from macros below, as text: it runs
   when the model runs, not when it is parsed) decides; one row per `unique_key`, and the month and
   load-time columns indexed for the month plans. #}
{% macro month_model_config(unique_key, rebuild_from, month_column='month', loaded_at_column='_source_loaded_at') -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_months_to_rebuild(" ~ rebuild_from ~ ", '" ~ month_column ~ "') }}",
        indexes=[
            {'columns': unique_key, 'unique': true},
            {'columns': [month_column]},
            {'columns': [loaded_at_column]},
        ]
    ) }}
{%- endmacro %}

{# Every row of `relation` (with its `month`) in the client-months that received new or updated rows
   since this model's last build: an incremental client-month model recomputes exactly those
   client-months, whole. On a full build, every row. #}
{% macro rows_of_touched_client_months(relation, date_column) -%}
    select
        facts.*,
        touched.month
    from {{ relation }} as facts
    inner join (
        select distinct
            client_id,
            date_trunc('month', {{ date_column }})::date as month
        from {{ relation }}
        where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
    ) as touched
        on facts.client_id = touched.client_id
            and facts.{{ date_column }} >= touched.month
            and facts.{{ date_column }} < touched.month + interval '1 month'
{%- endmacro %}

{# The first month an incremental build of int_client_months recomputes (every client, that month
   and all later ones), or none when it must recompute everything. Months from the first one that
   received a row loaded since its last build (less the lookback), and never later than the latest
   month it holds: a new day moves the calendar's "now", which changes the current month (recurring
   revenue of the new month, unpaid invoices falling due). Everything is recomputed on a first
   build, when an agreement changed (recurring revenue and resale cost span many months) or when
   the history starts in another month. Models built on int_client_months (client_monthly) use the
   same plan against their own watermark, and name in `rebuild_all_when_loaded` the other inputs
   (relations with `_loaded_at`) whose any new row changes every month. #}
{% macro client_months_rebuild_from(rebuild_all_when_loaded=[]) -%}
    {%- set watermark = month_model_watermark() -%}
    {%- if not watermark -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set plan_query -%}
        select
            'm' || least(
                (select max(month) from {{ this }}),
                (select last_month from {{ ref('int_psa__calendar') }}),
                {{ first_client_month_loaded_since(watermark) }}
            )::text as rebuild_from,
            {{ loaded_after(ref('stg_psa__agreements'), watermark) }}
            or (select min(month) from {{ this }}) is distinct from (select first_month from {{ ref('int_psa__calendar') }})
            {%- for relation in rebuild_all_when_loaded %}
            or {{ loaded_after(relation, watermark) }}
            {%- endfor %}
                as rebuild_all
    {%- endset -%}
    {{ return(month_from_plan(plan_query)) }}
{%- endmacro %}

{# The first month with a row of int_client_months' inputs loaded after `watermark` (null when none).
   CSAT answers are read from their staging table, whose `_loaded_at` index finds the new ones
   (int_psa__client_month_csat is a view that would aggregate every answer first). #}
{% macro first_client_month_loaded_since(watermark) -%}
    least(
        (select min(month) from {{ ref('int_psa__client_month_tickets') }} where _source_loaded_at > {{ watermark }}),
        (select min(month) from {{ ref('int_psa__agreement_month_labour') }} where _source_loaded_at > {{ watermark }}),
        (select min(month) from {{ ref('int_rmm__client_month_health') }} where _source_loaded_at > {{ watermark }}),
        (
            select date_trunc('month', min(responded_at))::date
            from {{ ref('stg_psa__csat_responses') }} where _loaded_at > {{ watermark }}
        ),
        (
            select min(least(invoice_month, date_trunc('month', due_date)::date))
            from {{ ref('int_invoices_costed') }} where _loaded_at > {{ watermark }}
        )
    )
{%- endmacro %}

{# The first month an incremental build of client_monthly_mrr recomputes, or none to recompute
   everything. Its rows follow from the agreements, the clients and the span of months only: with
   no agreement or client loaded since its last build (less the lookback), the months before the
   latest one it holds are final, and the latest one and any new ones are recomputed. #}
{% macro client_mrr_rebuild_from() -%}
    {%- set watermark = month_model_watermark() -%}
    {%- if not watermark -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set plan_query -%}
        select
            'm' || (select max(month) from {{ this }})::text as rebuild_from,
            {{ loaded_after(ref('stg_psa__agreements'), watermark) }}
            or {{ loaded_after(ref('stg_psa__clients'), watermark) }}
                as rebuild_all
    {%- endset -%}
    {{ return(month_from_plan(plan_query)) }}
{%- endmacro %}

{# True when `relation` holds a row loaded after `watermark`, or no row at all (nothing to compare:
   recompute). #}
{% macro loaded_after(relation, watermark) -%}
    coalesce((select max(_loaded_at) from {{ relation }}) > {{ watermark }}, true)
{%- endmacro %}

{# This month model's watermark as a SQL literal (its newest source load, less the lookback), or none
   when it is built whole: a first or full build, an empty table, or a table built before it carried
   `watermark_column` (rebuilt whole, which adds the column). A literal, read once, rather than a
   subquery: the plan compares several tables with it, and the planner can use their indexes. #}
{% macro month_model_watermark(watermark_column='_source_loaded_at') -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if watermark_column not in adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(last_build_watermark(watermark_column)) }}
{%- endmacro %}

{# Runs a rebuild plan (a first column 'm' || first month, a second "rebuild everything") and returns
   the first month to recompute, or none to recompute everything. #}
{% macro month_from_plan(plan_query) -%}
    {%- set plan = run_query(plan_query) -%}
    {%- set rebuild_from = plan.columns[0].values()[0] -%}
    {%- if plan.columns[1].values()[0] or not rebuild_from -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(rebuild_from[1:]) }}
{%- endmacro %}

{# Before an incremental build of a month model: drop the months it is about to recompute (all of
   them when `rebuild_from` is none). #}
{% macro delete_months_to_rebuild(rebuild_from, month_column='month') -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if rebuild_from %} where {{ month_column }} >= '{{ rebuild_from }}'::date{% endif %}
    {%- endif -%}
{%- endmacro %}

{# The last month of int_agreements_active_by_month: the month of the latest PSA activity (so the
   current month is always reported), or of the latest agreement start or cancellation if later. #}
{% macro agreement_months_end() -%}
    date_trunc('month', greatest(
        (
            select max(greatest(start_date, coalesce(cancelled_date, start_date)))
            from {{ ref('stg_psa__agreements') }}
        ),
        (select max(last_created_at)::date from {{ ref('int_psa__client_month_tickets') }})
    ))
{%- endmacro %}

{# The first month an incremental build of int_agreements_active_by_month recomputes, or none to
   recompute everything (a first build, or an agreement loaded since the last one). Otherwise only
   the span's end can have moved: the months from the latest one it holds, or from the new end if
   that is earlier, are recomputed. #}
{% macro agreement_months_rebuild_from() -%}
    {%- set watermark = month_model_watermark('_loaded_at') -%}
    {%- if not watermark -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set plan_query -%}
        select
            'm' || least((select max(month) from {{ this }}), {{ agreement_months_end() }}::date)::text as rebuild_from,
            {{ loaded_after(ref('stg_psa__agreements'), watermark) }}
                as rebuild_all
    {%- endset -%}
    {{ return(month_from_plan(plan_query)) }}
{%- endmacro %}

{# The first snapshot month an incremental build of int_client_snapshots_labelled recomputes, or
   none to recompute everything. The labels follow from the agreements, the managed months and the
   calendar: with no agreement loaded since the last build (less the lookback), a snapshot can only
   change when a moved "now" reveals its outcome, which is never earlier than the first snapshot
   whose outcome was hidden, nor earlier than the horizon before the new as-of date (if "now" moved
   back); the latest and new months are recomputed too. Everything is recomputed when the first
   snapshot month would change. client_churn_features passes `with_client_months`: its windows read
   int_client_months, so its months from the first one with new rows are recomputed too, and
   everything when a client changes. #}
{% macro churn_snapshots_rebuild_from(with_client_months=false) -%}
    {%- set watermark = month_model_watermark() -%}
    {%- if not watermark -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set plan_query -%}
        select
            'm' || least(
                (select max(snapshot_month) from {{ this }}),
                (select min(snapshot_month) from {{ this }} where not outcome_observable),
                (
                    select date_trunc('month', as_of_date - {{ var('churn_horizon_days') }})::date
                    from {{ ref('int_psa__calendar') }}
                )
                {%- if with_client_months %},
                {{ first_client_month_loaded_since(watermark) }}
                {%- endif %}
            )::text as rebuild_from,
            {{ loaded_after(ref('stg_psa__agreements'), watermark) }}
            {%- if with_client_months %}
            or {{ loaded_after(ref('stg_psa__clients'), watermark) }}
            or (select min(snapshot_month) from {{ this }})
            is distinct from (select min(snapshot_month) from {{ ref('int_client_snapshots_labelled') }})
            {%- else %}
            or (select min(snapshot_month) from {{ this }}) is distinct from (
                select min(active.month)
                from {{ ref('int_agreements_active_by_month') }} as active
                cross join {{ ref('int_psa__calendar') }} as calendar
                where active.agreement_type = 'managed_services'
                    and active.month between calendar.first_month and calendar.last_month
            )
            {%- endif %}
                as rebuild_all
    {%- endset -%}
    {{ return(month_from_plan(plan_query)) }}
{%- endmacro %}
