{# numerator / denominator, or null when the denominator is zero or null (no infinite rates). #}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }})::numeric / nullif({{ denominator }}, 0)
{%- endmacro %}

{# A share in percent with one decimal, null when nothing was measured. #}
{% macro pct(numerator, denominator) -%}
    round(100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0), 1)
{%- endmacro %}
