{# Fails for every group of `group_by` whose rows carry more than one value of `column`
   (e.g. FOCUS rows of one provider and billing period coming from two deliveries). #}
{% test single_value_per_group(model, group_by, column) %}
    select {{ group_by | join(', ') }}, count(distinct {{ column }}) as values_found
    from {{ model }}
    group by {{ group_by | join(', ') }}
    having count(distinct {{ column }}) > 1
{% endtest %}
