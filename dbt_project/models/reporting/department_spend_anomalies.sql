-- The spend trend of the IT dashboard with anomalies marked: every department-day of FOCUS spend,
-- flagged when the anomaly detector reported an incident starting that day in the department,
-- with what it expected and which kind it was; and, on every row of a day, whether the total of
-- all departments broke that day and which department drove it. The chart marks both at the
-- day's spend, so a department's anomaly and the total's sit on the line and are told apart.
-- Only department and charge_date are required of ml.spend_anomalies; the detector's other
-- columns are read when it writes them, so a change of detector does not break the dashboard.
{%- set detector_columns = [] %}
{%- if execute %}
    {%- for column in adapter.get_columns_in_relation(source('ml', 'spend_anomalies')) %}
        {%- do detector_columns.append(column.name) %}
    {%- endfor %}
{%- endif %}
{%- set has_scope = 'scope' in detector_columns %}

with incidents as (
    select
        department::text as department,
        charge_date::date as charge_date,
        {% if has_scope -%} scope::text {%- else -%} 'department'::text {%- endif %} as scope,
        {% if 'kind' in detector_columns -%} kind::text {%- else -%} null::text {%- endif %} as kind,
        {% if 'expected' in detector_columns -%}
            expected::numeric
        {%- else -%}
            null::numeric
        {%- endif %} as expected_cost,
        {% if 'score' in detector_columns -%} score::numeric {%- else -%} null::numeric {%- endif %} as robust_z,
        {% if 'driver' in detector_columns -%} driver::text {%- else -%} null::text {%- endif %} as driver
    from {{ source('ml', 'spend_anomalies') }}
),

department_anomalies as (
    select
        department,
        charge_date,
        max(kind) as direction,
        max(expected_cost) as expected_cost,
        max(robust_z) as robust_z
    from incidents
    where scope = 'department'
    group by 1, 2
),

total_anomalies as (
    select
        charge_date,
        max(kind) as total_direction,
        max(driver) as total_driver
    from incidents
    where scope = 'total'
    group by 1
)

select
    {{ dbt.concat(["spend.charge_date::text", "'|'", "spend.department"]) }} as spend_day_key,
    spend.charge_date,
    spend.department,
    spend.billed_cost,
    department_anomalies.department is not null as is_anomaly,
    department_anomalies.direction,
    department_anomalies.expected_cost,
    department_anomalies.robust_z,
    round(spend.billed_cost - department_anomalies.expected_cost, 2) as deviation_cost,
    total_anomalies.charge_date is not null as is_total_anomaly,
    total_anomalies.total_direction,
    total_anomalies.total_driver
from {{ ref('department_daily_spend') }} as spend
left join department_anomalies
    on
        spend.department = department_anomalies.department
        and spend.charge_date = department_anomalies.charge_date
left join total_anomalies
    on spend.charge_date = total_anomalies.charge_date
