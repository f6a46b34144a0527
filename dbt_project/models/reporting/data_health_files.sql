{{ config(materialized='view') }}
-- Every file the ingestion has seen, from its ledger: what it held, what loaded, and whether it
-- passed its contract (the `file_passes_contract` check). A view: the ledger is small and the
-- dashboard then always shows the latest loads, not those of dbt's last run.
select
    file_key,
    source,
    entity,
    {{ dbt.concat(["source", "'/'", "entity"]) }} as source_entity,
    status,
    status = 'quarantined' as is_quarantined,
    status <> 'loaded' as failed_contract,
    rows_in,
    rows_loaded,
    rows_rejected,
    nullif(error_summary, '') as error_summary,
    nullif(report_key, '') as report_key,
    nullif(parquet_key, '') as parquet_key,
    loaded_at,
    (loaded_at at time zone 'UTC')::date as load_date
from {{ source('pipeline', '_ingestion_ledger') }}
