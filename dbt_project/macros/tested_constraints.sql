{# What the key and value tests of a table promise, enforced by PostgreSQL as the table is written:
   NOT NULL for each `not_null` column, a unique index for each `unique` column or
   `unique_combination`, and a CHECK for each `accepted_values` list (named after the test, so the
   catalog tells which test it stands for). A bad row then fails the model itself ("column ... of
   relation ... contains null values", the duplicate key, or the check), the table keeps its
   previous contents, and a scheduled build need not re-run a
   test the database already guarantees (orchestration/enforced_tests.py reads the catalog to decide).
   Tests with severity warn, or with a row filter other than recent(), stay tests only. #}
{% macro enforce_tested_constraints() -%}
    {%- if not execute or model.config.materialized not in ('table', 'incremental') -%}
        {{- return('') -}}
    {%- endif -%}
    {#- the table already holds them (macros/persist_docs.sql) -#}
    {%- if incremental_table_is_current() -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set not_null = [] -%}
    {%- set unique_keys = [] -%}
    {%- set accepted = [] -%}
    {%- for test in graph.nodes.values() -%}
        {%- if test.resource_type == 'test' and test.attached_node == model.unique_id
              and test.test_metadata and test.config.severity | lower == 'error'
              and (not test.config.where or test.config.where.startswith('recent(')) -%}
            {%- set kwargs = test.test_metadata.kwargs -%}
            {%- if test.test_metadata.name == 'not_null' -%}
                {%- do not_null.append(kwargs.column_name) -%}
            {%- elif test.test_metadata.name == 'unique' -%}
                {%- do unique_keys.append([kwargs.column_name]) -%}
            {%- elif test.test_metadata.name == 'unique_combination' -%}
                {%- do unique_keys.append(kwargs.columns) -%}
            {%- elif test.test_metadata.name == 'accepted_values' -%}
                {%- do accepted.append(test) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not_null %}
        -- a column already NOT NULL is not scanned again
        alter table {{ this }}
        {%- for column in not_null | unique | sort %}
            alter column {{ adapter.quote(column) }} set not null{{ "," if not loop.last }}
        {%- endfor %};
    {%- endif %}
    {%- for columns in unique_keys %}
        {%- set sorted_columns = columns | sort %}
        -- an incremental table keeps its index from the build that created it
        do $$ begin
            if not exists (
                select from pg_index as i
                where i.indrelid = '{{ this }}'::regclass and i.indisunique
                    and i.indpred is null and i.indexprs is null
                    and array(
                        select a.attname::text from pg_attribute as a
                        where a.attrelid = i.indrelid and a.attnum = any(i.indkey) order by 1
                    ) = array['{{ sorted_columns | join("', '") }}']
            ) then
                create unique index on {{ this }} ({{ columns | map('string') | join(', ') }});
            end if;
        end $$;
    {%- endfor %}
    {%- for test in accepted %}
        {%- set kwargs = test.test_metadata.kwargs %}
        {%- set name = tested_check_name(test.unique_id) %}
        do $$ begin
            if not exists (
                select from pg_constraint where conrelid = '{{ this }}'::regclass and conname = '{{ name }}'
            ) then
                -- a null passes, as it does the test
                alter table {{ this }} add constraint {{ name }} check ({{ adapter.quote(kwargs.column_name) }} in (
                    {%- for value in kwargs['values'] -%}
                        {%- if kwargs.get('quote', true) -%}
                            '{{ value | string | replace("'", "''") }}'
                        {%- else -%}
                            {{ value }}
                        {%- endif -%}
                        {{- ", " if not loop.last -}}
                    {%- endfor -%}
                ));
            end if;
        end $$;
    {%- endfor %}
{%- endmacro %}

{# The CHECK standing for an accepted_values test: "accepted_" and the start of the md5 of the
   test's unique id (orchestration/enforced_tests.py derives the same name). #}
{% macro tested_check_name(test_unique_id) -%}
    accepted_{{ local_md5(test_unique_id)[:20] }}
{%- endmacro %}
