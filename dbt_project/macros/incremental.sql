{# Rows loaded since the last build of this model, less a lookback window: a load that committed
   while the previous build ran carries a _loaded_at older than that build's maximum. Rows seen
   twice are harmless because every incremental model replaces by its unique key.
   The watermark is read first and written into the query as a literal, so the planner sees how few
   rows pass and reads them through the `_loaded_at` index instead of scanning the table. #}
{% macro loaded_since_last_build(loaded_at_column='_loaded_at', watermark_column='_loaded_at') -%}
    {%- if is_incremental() -%}
        {%- set watermark_query -%}
            -- a letter in front keeps the value a string when dbt reads it back
            select 'w' || to_char(
                max({{ watermark_column }}) at time zone 'UTC' - interval '{{ var("incremental_lookback_hours") }} hours',
                'YYYY-MM-DD HH24:MI:SS.US'
            ) as watermark
            from {{ this }}
        {%- endset -%}
        {%- set watermark = run_query(watermark_query).columns[0].values()[0] -%}
        {%- if watermark -%}
            {{ loaded_at_column }} > '{{ watermark[1:] }}+00'::timestamptz
        {%- else -%}
            true
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# Config shared by the incremental staging tables of large facts: replace by the natural key,
   index the key (for the replace), the load time (for the next build's watermark), the columns
   the incremental aggregates downstream look rows up by, and the business date. The raw table gets a BRIN index on its
   append-ordered load time, so the rows loaded since the last build are found without a scan. #}
{% macro incremental_fact_config(unique_key, lookup_columns=none, raw_table=none, date_column=none) -%}
    {%- set indexes = [{'columns': [unique_key], 'unique': true}, {'columns': ['_loaded_at']}] -%}
    {%- if lookup_columns -%}
        {%- do indexes.append({'columns': lookup_columns}) -%}
    {%- endif -%}
    {%- if date_column -%}
        {#- the scheduled build's data tests read the latest days by this column -#}
        {%- do indexes.append({'columns': [date_column]}) -%}
    {%- endif -%}
    {%- set pre_hooks = [] -%}
    {%- if raw_table is not none -%}
        {#- rendered when the model runs: raw_table is (source name, table name) -#}
        {%- do pre_hooks.append("{{ raw_loaded_at_index(source('" ~ raw_table[0] ~ "', '" ~ raw_table[1] ~ "')) }}") -%}
    {%- endif -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=unique_key,
        on_schema_change='append_new_columns',
        indexes=indexes,
        pre_hook=pre_hooks
    ) }}
{%- endmacro %}

{# A BRIN index on a raw table's `_loaded_at`: raw tables are append-only, so load time follows the
   physical order and a tiny block-range index finds the newest rows. #}
{% macro raw_loaded_at_index(relation) -%}
    create index if not exists {{ relation.identifier }}__loaded_at_brin on {{ relation }} using brin (_loaded_at)
{%- endmacro %}

{# Planner statistics for a table built from scratch (a table model, the first build or a full
   refresh of an incremental one): without them the next model's joins can be planned as nested
   loops over millions of rows. An incremental build adds a day to a table that already has
   statistics; the autovacuum daemon refreshes them as it grows. #}
{% macro analyze_if_new() -%}
    {%- set materialized = config.get('materialized') -%}
    {%- if materialized == 'table' -%}
        analyze {{ this }}
    {%- elif materialized == 'incremental' -%}
        do $$
        begin
            if not exists (
                select from pg_stats where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
            ) then
                analyze {{ this }};
            end if;
        end
        $$
    {%- endif -%}
{%- endmacro %}
