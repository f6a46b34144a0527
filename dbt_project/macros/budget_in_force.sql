{# The monthly budget of `department` in force in `month`: the budgets seed row with the latest
   valid_from on or before the month (a new row replaces the budget from its date on). A scalar
   subquery, so it serves any model that has a department and a month, past or forecast. #}
{% macro budget_in_force(department, month) -%}
    (
        select budgets.monthly_budget
        from {{ ref('budgets') }} as budgets
        where budgets.department = {{ department }}
            and budgets.valid_from <= {{ month }}
        order by budgets.valid_from desc
        limit 1
    )
{%- endmacro %}
