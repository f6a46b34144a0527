{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['client_id', 'month'],
    indexes=[{'columns': ['client_id', 'month'], 'unique': true}]
) }}
-- The managed estate per client and month from the daily RMM snapshots: the endpoint count on the
-- month's last snapshot (what is supported now) and the month's average patch and backup health.
-- Incremental (delete+insert by client and month): the client-months that received new or corrected
-- snapshots are recomputed whole.
with touched_rows as (
    {{ rows_of_touched_client_months(ref('stg_rmm__device_snapshots'), 'snapshot_date') }}
),

snapshots as (
    select
        touched_rows.*,
        row_number() over (
            partition by touched_rows.client_id, touched_rows.month
            order by touched_rows.snapshot_date desc
        ) as recency
    from touched_rows
)

select
    client_id,
    month,
    count(*)::integer as snapshots,
    min(snapshot_date) as first_snapshot_date,
    max(snapshot_date) as last_snapshot_date,
    max(managed_endpoints) filter (where recency = 1) as managed_endpoints,
    round(avg(managed_endpoints), 1) as avg_managed_endpoints,
    round(avg(patch_compliance_pct), 1) as avg_patch_compliance_pct,
    round(avg(backup_success_pct), 1) as avg_backup_success_pct,
    max(_loaded_at) as _source_loaded_at
from snapshots
group by 1, 2
