{{ config(materialized='table') }}
-- Seats held now: one row per subscription and employee with an open assignment.
select
    assignments.subscription_id,
    assignments.employee_id,
    subscriptions.application_id,
    min(assignments.assigned_date) as assigned_date
from {{ ref('stg_saas__licence_assignments') }} as assignments
inner join {{ ref('stg_saas__subscriptions') }} as subscriptions
    on assignments.subscription_id = subscriptions.subscription_id
where assignments.unassigned_date is null
group by 1, 2, 3
