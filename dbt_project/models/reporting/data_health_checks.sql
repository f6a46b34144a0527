{{ config(materialized='view') }}
-- The pipeline's data checks as the warehouse sees them: each source's freshness
-- (`source_is_fresh`) and each file's contract (`file_passes_contract`), passed or failed, with
-- what failed. Dagster's run history lives in its own storage; the ledger is what the warehouse has.
select
    'source_is_fresh' as check_name,
    source_entity,
    source_entity as checked_item,
    freshness_status = 'fresh' as passed,
    case freshness_status
        when 'fresh' then null
        when 'never delivered' then 'no file has loaded yet'
        else 'last file loaded ' || hours_since_last_load || ' h ago, expected within '
            || coalesce(expected_cadence_hours::text, '?') || ' h'
    end as detail,
    last_loaded_at as evaluated_at
from {{ ref('data_health_sources') }}

union all

select
    'file_passes_contract' as check_name,
    source_entity,
    file_key as checked_item,
    not failed_contract as passed,
    case
        when failed_contract then status || ': ' || coalesce(error_summary, rows_rejected || ' rows rejected')
    end as detail,
    loaded_at as evaluated_at
from {{ ref('data_health_files') }}
