{# Table and column comments come from the YAML docs, which change only with the project. A
   scheduled build of an unchanged project leaves an incremental table's comments as the build that
   created it, or the last complete build, wrote them. #}
{% macro postgres__persist_docs(relation, model, for_relation=true, for_columns=true) -%}
    {%- if not incremental_table_is_current() -%}
        {%- do default__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- endif -%}
{%- endmacro %}

{# True while an incremental model adds rows to a table that already holds this project's comments
   and constraints: orchestration/warehouse_build.py sets PULSEOPS_DBT_TABLES_CURRENT in scheduled
   builds of a project unchanged since the last complete build. #}
{% macro incremental_table_is_current() -%}
    {{- return(is_incremental() and env_var('PULSEOPS_DBT_TABLES_CURRENT', 'false') == 'true') -}}
{%- endmacro %}
