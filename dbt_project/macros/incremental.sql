{# Rows loaded since the last build of this model, less a lookback window: a load that committed
   while the previous build ran carries a _loaded_at older than that build's maximum. Rows seen
   twice are harmless because every incremental model replaces by its unique key. #}
{% macro loaded_since_last_build(loaded_at_column='_loaded_at', watermark_column='_loaded_at') -%}
    {%- if is_incremental() -%}
        {{ loaded_at_column }} > (
            select coalesce(max({{ watermark_column }}), '-infinity'::timestamptz)
                - interval '{{ var("incremental_lookback_hours") }} hours'
            from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# Config shared by the incremental staging tables of large facts: replace by the natural key,
   index the key (for the replace), the load time (for the next build's watermark) and the columns
   the incremental aggregates downstream look rows up by. #}
{% macro incremental_fact_config(unique_key, lookup_columns=none) -%}
    {%- set indexes = [{'columns': [unique_key], 'unique': true}, {'columns': ['_loaded_at']}] -%}
    {%- if lookup_columns -%}
        {%- do indexes.append({'columns': lookup_columns}) -%}
    {%- endif -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=unique_key,
        on_schema_change='append_new_columns',
        indexes=indexes
    ) }}
{%- endmacro %}
