{# Data tests configured with `where: "recent(<date column>)"` check only the latest
   `scheduled_test_days` days of that column in the scheduled build (the daily schedule and the
   landing sensor set PULSEOPS_DBT_TEST_SCOPE=recent), and every row in any other build. Late rows
   for older days are still held to their keys by the unique indexes of the incremental tables.
   Any other `where` works as in dbt. #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and where.startswith('recent(') and where.endswith(')') -%}
        {%- set column = where[7:-1] | trim -%}
        {%- if execute and env_var('PULSEOPS_DBT_TEST_SCOPE', 'full') == 'recent' -%}
            {%- set filtered -%}
                (
                    select * from {{ relation }}
                    where {{ column }} >= (select max({{ column }}) from {{ relation }})
                        - interval '{{ var("scheduled_test_days") }} days'
                ) as dbt_subquery
            {%- endset -%}
            {%- do return(filtered) -%}
        {%- endif -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}
