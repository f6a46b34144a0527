-- The renewal calendar: every running agreement with its current term's end, in 30-day windows.
select
    agreements.agreement_id,
    agreements.client_id,
    clients.client_name,
    clients.segment,
    agreements.agreement_type,
    agreements.end_date as renewal_date,
    agreements.end_date - calendar.as_of_date as days_to_renewal,
    case
        when agreements.end_date - calendar.as_of_date <= 30 then '0-30 days'
        when agreements.end_date - calendar.as_of_date <= 60 then '31-60 days'
        when agreements.end_date - calendar.as_of_date <= 90 then '61-90 days'
        when agreements.end_date - calendar.as_of_date <= 120 then '91-120 days'
        else 'later'
    end as renewal_window,
    agreements.monthly_amount,
    agreements.monthly_amount * 12 as annual_value,
    agreements.gross_margin_pct,
    agreements.effective_hourly_rate
from {{ ref('agreements') }} as agreements
cross join {{ ref('int_psa__calendar') }} as calendar
inner join {{ ref('stg_psa__clients') }} as clients
    on agreements.client_id = clients.client_id
where agreements.is_active and agreements.end_date is not null
