{{ config(materialized='view') }}
-- Freshness of every source entity: when its last good file arrived against the cadence its
-- contract expects (ingestion/contracts; the `source_is_fresh` check), and what its files held.
-- A view, so the age is measured when the dashboard asks, not when dbt last ran.
with expected (source, entity, expected_cadence_hours) as (
    -- kept equal to the contracts' expected_cadence_hours by tests/test_superset_assets.py
    values
    ('psa', 'clients', 24),
    ('psa', 'agreements', 24),
    ('psa', 'invoices', 24),
    ('psa', 'tickets', 24),
    ('psa', 'time_entries', 24),
    ('psa', 'csat_responses', 24),
    ('rmm', 'device_snapshots', 24),
    ('hr', 'employees', 168),
    ('saas', 'applications', 168),
    ('saas', 'subscriptions', 168),
    ('saas', 'licence_assignments', 24),
    ('saas', 'daily_usage', 48),
    ('m365', 'active_user_detail', 48),
    ('focus', 'costs', 48)
),

files as (
    select
        source,
        entity,
        count(*)::integer as files,
        count(*) filter (where status = 'quarantined')::integer as files_quarantined,
        count(*) filter (where status = 'loaded_with_rejects')::integer as files_with_rejects,
        sum(rows_loaded)::bigint as rows_loaded,
        sum(rows_rejected)::bigint as rows_rejected,
        max(loaded_at) filter (where status in ('loaded', 'loaded_with_rejects')) as last_loaded_at,
        max(loaded_at) as last_file_at
    from {{ ref('data_health_files') }}
    group by 1, 2
),

entities as (
    select
        source,
        entity
    from expected
    union
    select
        source,
        entity
    from files
)

select
    {{ dbt.concat(["entities.source", "'/'", "entities.entity"]) }} as source_entity,
    entities.source,
    entities.entity,
    expected.expected_cadence_hours,
    files.last_loaded_at,
    files.last_file_at,
    round((extract(epoch from now() - files.last_loaded_at) / 3600)::numeric, 1) as hours_since_last_load,
    case
        when files.last_loaded_at is null then 'never delivered'
        when expected.expected_cadence_hours is null then 'no cadence'
        when now() - files.last_loaded_at > expected.expected_cadence_hours * interval '1 hour' then 'stale'
        else 'fresh'
    end as freshness_status,
    coalesce(files.files, 0) as files,
    coalesce(files.files_quarantined, 0) as files_quarantined,
    coalesce(files.files_with_rejects, 0) as files_with_rejects,
    coalesce(files.rows_loaded, 0) as rows_loaded,
    coalesce(files.rows_rejected, 0) as rows_rejected
from entities
left join expected on entities.source = expected.source and entities.entity = expected.entity
left join files on entities.source = files.source and entities.entity = files.entity
