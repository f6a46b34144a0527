with latest as (
    {{ latest_per_key(source('rmm', 'rmm__device_snapshots'), ['client_id', 'snapshot_date']) }}
)

select
    {{ dbt.concat(["client_id", "'|'", "snapshot_date::text"]) }} as snapshot_key,
    client_id,
    snapshot_date,
    managed_endpoints::integer as managed_endpoints,
    patch_compliance_pct,
    backup_success_pct
from latest
