{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['client_id', 'month'],
    indexes=[{'columns': ['client_id', 'month'], 'unique': true}]
) }}
-- Ticket counts, SLA outcomes and response/resolution times per client and month the tickets were
-- opened. Incremental (delete+insert by client and month): the client-months that received new or
-- updated tickets (a late ticket for an old month included) are recomputed whole.
with touched_rows as (
    {{ rows_of_touched_client_months(ref('stg_psa__tickets'), 'created_at') }}
),

tickets as (
    select
        touched_rows.*,
        extract(epoch from touched_rows.first_response_at - touched_rows.created_at) / 3600.0 as response_hours,
        extract(epoch from touched_rows.resolved_at - touched_rows.created_at) / 3600.0 as resolution_hours
    from touched_rows
)

select
    client_id,
    month,
    count(*)::integer as tickets_opened,
    count(*) filter (where priority = 'P1')::integer as p1_tickets,
    count(*) filter (where sla_response_met)::integer as sla_response_met,
    count(*) filter (where not sla_response_met)::integer as sla_response_missed,
    count(*) filter (where sla_resolution_met)::integer as sla_resolution_met,
    count(*) filter (where not sla_resolution_met)::integer as sla_resolution_missed,
    count(response_hours)::integer as tickets_responded,
    coalesce(sum(response_hours), 0) as response_hours,
    count(resolution_hours)::integer as tickets_resolved,
    coalesce(sum(resolution_hours), 0) as resolution_hours,
    sum(reopen_count)::integer as reopens,
    min(created_at) as first_created_at,
    max(created_at) as last_created_at,
    max(_loaded_at) as _source_loaded_at
from tickets
group by 1, 2
