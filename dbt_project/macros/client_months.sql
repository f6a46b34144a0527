{# Config of an incremental model with one row per client and month, replaced whole when it changes. #}
{% macro client_month_incremental_config() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['client_id', 'month'],
        indexes=[{'columns': ['client_id', 'month'], 'unique': true}]
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
