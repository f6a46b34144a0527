{{ config(materialized='table') }}
-- One row per agreement and month-end at which it was active and billing, from the month of the
-- first agreement to the month of the latest PSA activity (so the current month is always
-- reported), or of the latest agreement start or cancellation if later. A table of agreements x
-- months, rebuilt whole in every build.
with months as (
    select
        (date_trunc('month', month_start) + interval '1 month - 1 day')::date as month_end,
        month_start::date as month_start
    from generate_series(
            (select date_trunc('month', min(start_date)) from {{ ref('stg_psa__agreements') }}),
            date_trunc('month', greatest(
                (
                    select max(greatest(start_date, coalesce(cancelled_date, start_date)))
                    from {{ ref('stg_psa__agreements') }}
                ),
                (select max(last_created_at)::date from {{ ref('int_psa__client_month_tickets') }})
            )),
            interval '1 month'
        ) as month_start
)

select
    agreements.agreement_id,
    agreements.client_id,
    agreements.agreement_type,
    months.month_start as month,
    agreements.monthly_amount,
    -- when the agreement behind the row was loaded
    agreements._loaded_at
from {{ ref('stg_psa__agreements') }} as agreements
inner join months
    on agreements.start_date <= months.month_end
        and (agreements.cancelled_date is null or agreements.cancelled_date > months.month_end)
        and (agreements.end_date is null or agreements.end_date > months.month_end)
