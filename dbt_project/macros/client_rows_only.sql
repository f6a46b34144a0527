{# Row-level security on the client-scoped tables of marts and reporting (those with a client_id
   column). The analyst login reads every row; a client login (orchestration/warehouse_logins.py)
   only the rows of its own clients, looked up by session_user, which no SQL the session runs can
   change. The client viewers' group may read only the models marked `meta: {client_facing: true}`
   (what the Client Review page shows), not the MSP's own assessments of its clients (churn risk,
   recommendations). The table's owner (the pipeline) is not subject to the policies. A
   client-scoped model cannot be a view: a view reads with its owner's rights, past the policies. #}
{% macro client_rows_only() -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'client_id' not in columns -%}
        {{- return('') -}}
    {%- endif -%}
    {%- if model.config.materialized not in ('table', 'incremental') -%}
        {{- exceptions.raise_compiler_error(this ~ " has a client_id column: it must be a table for row-level security") -}}
    {%- endif -%}
    alter table {{ this }} enable row level security;
    drop policy if exists analyst_reads_all_clients on {{ this }};
    create policy analyst_reads_all_clients on {{ this }} for select to {{ var('analyst_role') }} using (true);
    drop policy if exists client_viewer_reads_own_clients on {{ this }};
    create policy client_viewer_reads_own_clients on {{ this }} for select to {{ var('client_viewer_role') }}
        using (client_id in (select client_id from pulseops_security.my_clients));
    {%- if model.config.meta.get('client_facing') %}
    grant select on {{ this }} to {{ var('client_viewer_role') }}
    {%- endif %}
{%- endmacro %}
