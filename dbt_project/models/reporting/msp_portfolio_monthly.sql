-- The MSP portfolio per month, segment and region, for the portfolio dashboard's tiles and trends.
-- Every segment and region has a row for every month of the history (zero when it had no
-- clients), so the previous month's and year's MRR sit on the same row and growth stays right
-- under any segment or region filter: growth = sum(mrr) / sum(mrr_previous_month) - 1.
-- Service levels and CSAT keep their counts (met, total, score sum) so ratios can be re-weighted
-- after any filter instead of averaging percentages.
with calendar as (
    select * from {{ ref('int_psa__calendar') }}
),

clients as (
    select
        client_id,
        segment,
        region
    from {{ ref('stg_psa__clients') }}
),

segments as (
    select distinct
        segment,
        region
    from clients
),

grid as (
    select
        month::date as month,
        segments.segment,
        segments.region
    from calendar
    cross join lateral generate_series(calendar.first_month, calendar.last_month, interval '1 month') as month
    cross join segments
),

sums as (
    select
        months.month,
        clients.segment,
        clients.region,
        count(*) filter (where months.mrr > 0)::integer as clients_billed,
        sum(months.mrr) as mrr,
        sum(months.revenue) as revenue,
        sum(months.resale_cost) as resale_cost,
        sum(months.labour_hours) as labour_hours,
        sum(months.labour_cost) as labour_cost,
        sum(months.tickets_opened)::integer as tickets_opened,
        sum(months.p1_tickets)::integer as p1_tickets,
        sum(months.sla_response_met)::integer as sla_response_met,
        sum(months.sla_response_met + months.sla_response_missed)::integer as sla_response_total,
        sum(months.sla_resolution_met)::integer as sla_resolution_met,
        sum(months.sla_resolution_met + months.sla_resolution_missed)::integer as sla_resolution_total,
        sum(months.csat_responses)::integer as csat_responses,
        sum(months.csat_score_sum)::integer as csat_score_sum
    from {{ ref('int_client_months') }} as months
    inner join clients on months.client_id = clients.client_id
    group by 1, 2, 3
),

filled as (
    select
        grid.month,
        grid.segment,
        grid.region,
        coalesce(sums.clients_billed, 0) as clients_billed,
        coalesce(sums.mrr, 0) as mrr,
        coalesce(sums.revenue, 0) as revenue,
        coalesce(sums.resale_cost, 0) as resale_cost,
        coalesce(sums.labour_hours, 0) as labour_hours,
        round(coalesce(sums.labour_cost, 0), 2) as labour_cost,
        coalesce(sums.tickets_opened, 0) as tickets_opened,
        coalesce(sums.p1_tickets, 0) as p1_tickets,
        coalesce(sums.sla_response_met, 0) as sla_response_met,
        coalesce(sums.sla_response_total, 0) as sla_response_total,
        coalesce(sums.sla_resolution_met, 0) as sla_resolution_met,
        coalesce(sums.sla_resolution_total, 0) as sla_resolution_total,
        coalesce(sums.csat_responses, 0) as csat_responses,
        coalesce(sums.csat_score_sum, 0) as csat_score_sum
    from grid
    left join sums
        on grid.month = sums.month
            and grid.segment = sums.segment
            and grid.region = sums.region
)

select
    {{ dbt.concat(["filled.month::text", "'|'", "filled.segment", "'|'", "filled.region"]) }} as portfolio_month_key,
    filled.month,
    filled.segment,
    filled.region,
    -- the latest month is still running while the history ends before its last day
    (
        filled.month < calendar.last_month
        or calendar.as_of_date = (calendar.last_month + interval '1 month - 1 day')::date
    ) as is_complete_month,
    filled.clients_billed,
    filled.mrr,
    coalesce(previous_month.mrr, 0) as mrr_previous_month,
    previous_year.mrr as mrr_previous_year,
    filled.revenue,
    filled.resale_cost,
    filled.labour_hours,
    filled.labour_cost,
    round(filled.revenue - filled.labour_cost - filled.resale_cost, 2) as gross_margin,
    filled.tickets_opened,
    filled.p1_tickets,
    filled.sla_response_met,
    filled.sla_response_total,
    filled.sla_resolution_met,
    filled.sla_resolution_total,
    filled.csat_responses,
    filled.csat_score_sum
from filled
cross join calendar
left join filled as previous_month
    on filled.segment = previous_month.segment
        and filled.region = previous_month.region
        and previous_month.month = (filled.month - interval '1 month')::date
left join filled as previous_year
    on filled.segment = previous_year.segment
        and filled.region = previous_year.region
        and previous_year.month = (filled.month - interval '12 months')::date
