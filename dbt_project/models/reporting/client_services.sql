-- Each client's agreements (its services and licences) named and placed like the client itself,
-- so the client review page can filter and secure them by client like its other tiles.
select
    agreements.agreement_id,
    agreements.client_id,
    clients.client_name,
    clients.segment,
    clients.region,
    agreements.agreement_type as service,
    agreements.is_active,
    agreements.start_date,
    agreements.end_date,
    agreements.end_date - calendar.as_of_date as days_to_end,
    agreements.units,
    agreements.unit_price,
    agreements.monthly_amount,
    agreements.is_cancelled,
    agreements.cancelled_date
from {{ ref('agreements') }} as agreements
cross join {{ ref('int_psa__calendar') }} as calendar
inner join {{ ref('stg_psa__clients') }} as clients
    on agreements.client_id = clients.client_id
