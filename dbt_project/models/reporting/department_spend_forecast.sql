-- The forecast panel of the IT dashboard: each department's cloud spend forecast for the months
-- ahead with its prediction interval, and against the month's budget. The budget covers cloud and
-- SaaS, so the SaaS subscriptions' cost of the latest full month is added to the cloud forecast
-- as a run-rate (subscriptions bill the same each month) to give a total to set against it.
with forecast as (
    select * from {{ source('ml', 'spend_forecast') }}
),

saas_run_rate as (
    select distinct on (department)
        department,
        saas_cost
    from {{ ref('budget_vs_actual') }}
    where not is_partial_month and saas_cost > 0
    order by department asc, month desc
),

budgeted as (
    select
        forecast.department,
        forecast.month,
        {{ budget_in_force('forecast.department', 'forecast.month') }} as budget
    from forecast
)

select
    {{ dbt.concat(["forecast.department", "'|'", "forecast.month::date::text"]) }} as forecast_key,
    forecast.department,
    forecast.month::date as month,
    forecast.months_ahead,
    forecast.forecast as cloud_forecast,
    forecast.lower as cloud_lower,
    forecast.upper as cloud_upper,
    forecast.interval as interval_coverage,
    coalesce(saas_run_rate.saas_cost, 0) as saas_run_rate,
    round((forecast.forecast + coalesce(saas_run_rate.saas_cost, 0))::numeric, 2) as total_forecast,
    round((forecast.lower + coalesce(saas_run_rate.saas_cost, 0))::numeric, 2) as total_lower,
    round((forecast.upper + coalesce(saas_run_rate.saas_cost, 0))::numeric, 2) as total_upper,
    budgeted.budget,
    round((forecast.forecast + coalesce(saas_run_rate.saas_cost, 0) - budgeted.budget)::numeric, 2)
        as forecast_variance,
    case
        when budgeted.budget is null then null
        when forecast.lower + coalesce(saas_run_rate.saas_cost, 0) > budgeted.budget then 'over budget'
        when forecast.forecast + coalesce(saas_run_rate.saas_cost, 0) > budgeted.budget then 'likely over'
        when forecast.upper + coalesce(saas_run_rate.saas_cost, 0) > budgeted.budget then 'could exceed'
        else 'within budget'
    end as budget_outlook,
    forecast.forecast_at
from forecast
left join saas_run_rate
    on forecast.department = saas_run_rate.department
left join budgeted
    on forecast.department = budgeted.department
        and forecast.month = budgeted.month
