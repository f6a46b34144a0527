-- The spend trend of the IT dashboard with anomalies marked: every department-day of FOCUS spend,
-- flagged when the anomaly detector reported an anomaly for that department on that day, with
-- what it expected and which way the day broke.
-- Only department and charge_date are required of ml.spend_anomalies; the detector's other
-- columns are read when it writes them, so a change of detector does not break the dashboard.
{%- set detector_columns = [] %}
{%- if execute %}
    {%- for column in adapter.get_columns_in_relation(source('ml', 'spend_anomalies')) %}
        {%- do detector_columns.append(column.name) %}
    {%- endfor %}
{%- endif %}

with anomalies as (
    select
        department::text as department,
        charge_date::date as charge_date,
        {% if 'direction' in detector_columns -%}
            max(direction::text)
        {%- elif 'kind' in detector_columns -%}
            max(kind::text)
        {%- else -%}
            null::text
        {%- endif %} as direction,
        {% if 'expected' in detector_columns -%}
            max(expected::numeric)
        {%- else -%}
            null::numeric
        {%- endif %} as expected_cost,
        {% if 'robust_z' in detector_columns -%}
            max(robust_z::numeric)
        {%- else -%}
            null::numeric
        {%- endif %} as robust_z
    from {{ source('ml', 'spend_anomalies') }}
    group by 1, 2
)

select
    {{ dbt.concat(["spend.charge_date::text", "'|'", "spend.department"]) }} as spend_day_key,
    spend.charge_date,
    spend.department,
    spend.billed_cost,
    anomalies.department is not null as is_anomaly,
    anomalies.direction,
    anomalies.expected_cost,
    anomalies.robust_z,
    round(spend.billed_cost - anomalies.expected_cost, 2) as deviation_cost
from {{ ref('department_daily_spend') }} as spend
left join anomalies
    on
        spend.department = anomalies.department
        and spend.charge_date = anomalies.charge_date
