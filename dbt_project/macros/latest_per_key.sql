{# Keep one row per natural key: the one from the most recent load (corrected re-deliveries win).
   `where` narrows the raw rows first (an incremental model passes only the recently loaded ones). #}
{% macro latest_per_key(relation, key_columns, where=none) -%}
    select * from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _loaded_at desc, _file_id desc
            ) as _load_rank
        from {{ relation }}
        {%- if where %}
        where {{ where }}
        {%- endif %}
    ) as ranked
    where _load_rank = 1
{%- endmacro %}
