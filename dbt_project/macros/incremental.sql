{# Rows loaded since the last build of this model, less a lookback window: a load that committed
   while the previous build ran carries a _loaded_at older than that build's maximum. Rows seen
   twice are harmless because every incremental model replaces by its unique key.
   The watermark is read first and written into the query as a literal, so the planner sees how few
   rows pass and reads them through the `_loaded_at` index instead of scanning the table. #}
{% macro loaded_since_last_build(loaded_at_column='_loaded_at', watermark_column='_loaded_at') -%}
    {%- set watermark = last_build_watermark(watermark_column) if is_incremental() else none -%}
    {%- if watermark -%}
        {{ loaded_at_column }} > {{ watermark }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# The newest `watermark_column` of this model's table less the lookback, as a timestamptz literal,
   or none when the table is empty. #}
{% macro last_build_watermark(watermark_column) -%}
    {%- set watermark_query -%}
        -- a letter in front keeps the value a string when dbt reads it back
        select 'w' || to_char(
            max({{ watermark_column }}) at time zone 'UTC' - interval '{{ var("incremental_lookback_hours") }} hours',
            'YYYY-MM-DD HH24:MI:SS.US'
        ) as watermark
        from {{ this }}
    {%- endset -%}
    {%- set watermark = run_query(watermark_query).columns[0].values()[0] -%}
    {{ return("'" ~ watermark[1:] ~ "+00'::timestamptz" if watermark else none) }}
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
   physical order and a tiny block-range index finds the newest rows. The planner only takes it when
   it knows the column: a raw table nothing has analyzed yet (freshly loaded, autovacuum not yet
   round) gets its `_loaded_at` statistics, else the next build estimates a third of the table as
   new and reads all of it. #}
{% macro raw_loaded_at_index(relation) -%}
    create index if not exists {{ relation.identifier }}__loaded_at_brin on {{ relation }} using brin (_loaded_at);
    do $$
    begin
        if not exists (
            select from pg_stats
            where schemaname = '{{ relation.schema }}' and tablename = '{{ relation.identifier }}'
                and attname = '_loaded_at'
        ) then
            analyze {{ relation }} (_loaded_at);
        end if;
    end
    $$
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

{# Before an incremental build of stg_focus__costs: drop the billing periods delivered since its last
   build, which the new rows replace whole. The periods are read first and written in as literals,
   so the delete finds their rows through the (provider, period) index; joined to the new rows, the
   planner scans the whole table instead. #}
{% macro delete_delivered_billing_periods(raw_relation) -%}
    {%- if is_incremental() -%}
        {%- set periods_query -%}
            select distinct
                provider_name,
                billing_period_start::text
            from {{ raw_relation }}
            where {{ loaded_since_last_build() }}
        {%- endset -%}
        {%- set periods = run_query(periods_query).rows -%}
        {%- if periods -%}
            delete from {{ this }}
            where (provider_name, billing_period_start) in (
                {%- for provider, start in periods %}
                ({{ sql_text_literal(provider) }}, {{ sql_text_literal(start) }}){{ "," if not loop.last }}
                {%- endfor %}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# A value read back from the database as an SQL literal (null stays null, matching nothing). #}
{% macro sql_text_literal(value) -%}
    {{ "null" if value is none else "'" ~ (value | string | replace("'", "''")) ~ "'" }}
{%- endmacro %}
