with latest as (
    {{ latest_per_key(source('psa', 'psa__agreements'), ['agreement_id']) }}
)

select
    agreement_id,
    client_id,
    agreement_type,
    start_date,
    end_date,
    monthly_amount,
    units::integer as units,
    unit_price,
    cancelled as is_cancelled,
    cancelled_date,
    cancellation_reason,
    unit_cost,
    _loaded_at
from latest
