{# The filter of an incremental model's new input: rows loaded since the newest load its table
   holds, less `incremental_lookback_hours` (a load that committed while the previous build ran
   carries a _loaded_at older than that build's newest row). Late rows for old days and corrected
   re-deliveries are new loads, so they pass; rows read twice are harmless because every
   incremental model replaces what it writes by its unique_key (delete+insert). On a first build or
   a --full-refresh, every row.
   The newest load is read when the model runs and written in as a literal: with a subquery the
   planner cannot tell how few rows pass and scans the whole input instead of using its index. #}
{% macro loaded_since_last_build(loaded_at_column='_loaded_at', watermark_column='_loaded_at') -%}
    {%- if execute and is_incremental() -%}
        {%- set newest_query -%}
            select to_char(
                max({{ watermark_column }}) at time zone 'UTC' - interval '{{ var("incremental_lookback_hours") }} hours',
                'YYYY-MM-DD HH24:MI:SS.US'
            ) from {{ this }}
        {%- endset -%}
        {%- set newest = run_query(newest_query).columns[0].values()[0] -%}
        {%- if newest -%}
            {{ loaded_at_column }} > '{{ newest }}+00'::timestamptz
        {%- else -%}
            true
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# Every row of the client-months that received new or corrected rows since the last build (all rows
   on a first build or a full refresh), with its month: a client-month aggregate recomputes each
   such month whole, so a late row for an old month corrects that month. #}
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
        on
            facts.client_id = touched.client_id
            and facts.{{ date_column }} >= touched.month
            and facts.{{ date_column }} < touched.month + interval '1 month'
{%- endmacro %}

{# Config shared by the incremental staging tables of large facts: dbt's delete+insert on the
   natural key (the primary key of the model's contract, whose index the delete uses), with the
   load time indexed (for the next build's filter), the columns the aggregates downstream look rows
   up by, and the business date. The raw table gets
   a BRIN index on its append-ordered load time, so the rows loaded since the last build are found
   without a scan. #}
{% macro incremental_fact_config(unique_key, lookup_columns=none, raw_table=none, date_column=none) -%}
    {%- set indexes = [{'columns': ['_loaded_at']}] -%}
    {%- if lookup_columns -%}
        {%- do indexes.append({'columns': lookup_columns}) -%}
    {%- endif -%}
    {%- if date_column -%}
        {%- do indexes.append({'columns': [date_column]}) -%}
    {%- endif -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=unique_key,
        on_schema_change='append_new_columns',
        indexes=indexes,
        pre_hook=["{{ raw_loaded_at_index(source('" ~ raw_table[0] ~ "', '" ~ raw_table[1] ~ "')) }}"] if raw_table else []
    ) }}
{%- endmacro %}

{# Config shared by the client-month tables incremental by whole months: dbt's delete+insert on the
   month, so a recomputed month replaces every row of it (a client-month whose data has gone goes
   too), and one row per client and month. #}
{% macro incremental_months_config(month_column='month') -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=[month_column],
        indexes=[{'columns': ['client_id', month_column], 'unique': true}]
    ) }}
{%- endmacro %}

{# For an incremental build of a client-month table: the first month `relation` holds for a client
   loaded since this table's last build (a changed name, segment or onboarding date changes every
   month of that client). #}
{% macro first_month_of_changed_clients(relation, month_column='month') -%}
    (
        select min({{ month_column }}) from {{ relation }}
        where client_id in (
            select client_id from {{ ref('stg_psa__clients') }}
            where {{ loaded_since_last_build(watermark_column='_source_loaded_at') }}
        )
    )
{%- endmacro %}

{# A BRIN index on a raw table's `_loaded_at`: raw tables are append-only, so load time follows the
   physical order and a tiny block-range index finds the newest rows. The planner only takes it when
   it knows the column: a raw table nothing has analyzed yet gets its `_loaded_at` statistics.
   Both are looked up in the catalog first: `create index if not exists` would lock the table even
   when the index is there, and wait for the autovacuum the day's load has just started on it. #}
{% macro raw_loaded_at_index(relation) -%}
    do $$
    begin
        if to_regclass('{{ relation.schema }}.{{ relation.identifier }}__loaded_at_brin') is null then
            create index {{ relation.identifier }}__loaded_at_brin on {{ relation }} using brin (_loaded_at);
        end if;
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
