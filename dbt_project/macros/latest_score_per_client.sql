{# The latest row of each client in an ML output table (every scoring run stamps its rows with
   scored_at): `columns` picks what to keep, all by default. #}
{% macro latest_score_per_client(relation, columns=none) -%}
    select distinct on (client_id) {{ columns | join(', ') if columns else '*' }}
    from {{ relation }}
    order by client_id asc, scored_at desc
{%- endmacro %}
