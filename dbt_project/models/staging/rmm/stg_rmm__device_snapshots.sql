-- A large, growing fact: an incremental table that takes only the rows loaded since its last
-- build (late rows for old days included) and replaces earlier versions by key.
{{ incremental_fact_config('snapshot_key', ['client_id', 'snapshot_date'], date_column='snapshot_date',
                         raw_table=('rmm', 'rmm__device_snapshots')) }}

with latest as (
    {{ latest_per_key(source('rmm', 'rmm__device_snapshots'), ['client_id', 'snapshot_date'],
                      where=loaded_since_last_build()) }}
)

select
    {{ dbt.concat(["client_id", "'|'", "snapshot_date::text"]) }} as snapshot_key,
    client_id,
    snapshot_date,
    managed_endpoints::integer as managed_endpoints,
    patch_compliance_pct,
    backup_success_pct,
    _loaded_at
from latest
