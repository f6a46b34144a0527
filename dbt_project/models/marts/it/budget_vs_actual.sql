-- IT spend (cloud and SaaS) per department and month against the budget in seeds/budgets.csv.
-- The month in progress also gets a run-rate projection to its end.
with calendar as (
    select * from {{ ref('int_it__calendar') }}
),

actual as (
    select
        department,
        date_trunc('month', spend_date)::date as month,
        sum(billed_cost) as actual_cost,
        sum(billed_cost) filter (where spend_source = 'cloud') as cloud_cost,
        sum(billed_cost) filter (where spend_source = 'saas') as saas_cost,
        count(distinct spend_date)::integer as days_with_spend
    from {{ ref('daily_spend') }}
    group by 1, 2
),

months as (
    select series.month_start::date as month
    from calendar
    cross join lateral generate_series(
        date_trunc('month', calendar.spend_start_date), date_trunc('month', calendar.spend_end_date), interval '1 month'
    ) as series (month_start)
),

departments as (
    select department from actual
    union
    select department from {{ ref('budgets') }}
),

budgeted as (
    select
        months.month,
        departments.department,
        {{ budget_in_force('departments.department', 'months.month') }} as budget
    from months
    cross join departments
)

select
    {{ dbt.concat(["budgeted.department", "'|'", "budgeted.month::text"]) }} as budget_key,
    budgeted.department,
    budgeted.month,
    budgeted.budget,
    round(coalesce(actual.actual_cost, 0), 2) as actual_cost,
    round(coalesce(actual.cloud_cost, 0), 2) as cloud_cost,
    round(coalesce(actual.saas_cost, 0), 2) as saas_cost,
    round(coalesce(actual.actual_cost, 0) - budgeted.budget, 2) as variance,
    {{ pct('coalesce(actual.actual_cost, 0) - budgeted.budget', 'budgeted.budget') }} as variance_pct,
    budgeted.month = date_trunc('month', calendar.spend_end_date)::date
    and calendar.spend_end_date < (budgeted.month + interval '1 month - 1 day')::date as is_partial_month,
    round(case
        when budgeted.month = date_trunc('month', calendar.spend_end_date)::date
            then coalesce(actual.actual_cost, 0) / extract(day from calendar.spend_end_date)
                * extract(day from budgeted.month + interval '1 month - 1 day')
        else coalesce(actual.actual_cost, 0)
    end, 2) as projected_cost
from budgeted
cross join calendar
left join actual
    on budgeted.department = actual.department
        and budgeted.month = actual.month
