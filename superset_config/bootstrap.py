"""Prepare Superset's metadata database, roles and dashboards. Safe to run again.

Runs with the Superset virtual environment's python (it needs Superset's own SQLAlchemy 1.4):
    SUPERSET_CONFIG_PATH=.../superset_config.py SUPERSET_SECRET_KEY=... SUPERSET_HOME=... \
    SUPERSET_ADMIN_PASSWORD=... PULSEOPS_ANALYST_URI=postgresql+psycopg2://pulseops_analyst:... \
    .venv-superset/bin/python superset_config/bootstrap.py

The steps are those of `superset db upgrade`, `superset fab create-admin` and `superset init`,
done in one process because each Superset CLI call spends ~10 s building the app; then the
dashboards are imported and the roles of superset_config/access.py applied. The admin password
travels by environment, never on a command line where `ps` would show it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from asset_bundle import ASSETS_DIR, load_bundle

import access

ADMIN_USERNAME = "admin"


def _say(message: str) -> None:
    # print, not logging: Alembic's fileConfig resets the logging setup during the upgrade.
    print(f"[bootstrap {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"bootstrap: environment variable {name} is required")
    return value


def upgrade_metadata_db() -> None:
    import flask_migrate

    flask_migrate.upgrade()


def sync_roles_and_permissions() -> None:
    from superset import appbuilder, security_manager

    appbuilder.add_permissions(update_perms=True)
    security_manager.sync_role_definitions()


def ensure_admin(password: str):
    """Create the admin, or reset its password so the stored secret stays the one that works."""
    from superset import db, security_manager
    from werkzeug.security import check_password_hash

    user = security_manager.find_user(username=ADMIN_USERNAME)
    if user is None:
        role = security_manager.find_role(security_manager.auth_role_admin)
        user = security_manager.add_user(
            ADMIN_USERNAME, "PulseOps", "Admin", "admin@pulseops.invalid", role, password=password
        )
        if not user:
            raise RuntimeError("Superset refused to create the admin user")
        _say(f"created admin user {ADMIN_USERNAME!r}")
    elif not check_password_hash(user.password, password):
        security_manager.reset_password(user.id, password)
    db.session.commit()
    return user


def import_assets(uris: dict[str, str], admin, assets_dir: Path) -> None:
    """Upsert every database, dataset, chart and dashboard by uuid, overwriting earlier imports."""
    from superset import db
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.utils.core import override_user

    with override_user(admin):
        ImportAssetsCommand(load_bundle(uris, assets_dir)).run()
    db.session.commit()


def apply_access() -> None:
    """Make the roles of access.py exactly what the code says, on every start."""
    from superset import db, security_manager
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard

    dashboards = {d.slug: d for d in db.session.query(Dashboard).filter(Dashboard.slug.in_(access.DASHBOARDS))}
    missing = set(access.DASHBOARDS) - set(dashboards)
    if missing:
        raise RuntimeError(f"dashboards missing after the import: {sorted(missing)}")
    databases = {d.database_name: d for d in db.session.query(Database)}
    # Superset's read-only role, re-derived by `sync_role_definitions` on every start.
    gamma = list(security_manager.find_role("Gamma").permissions)
    sql_lab = list(security_manager.find_role("sql_lab").permissions)

    viewers: dict[str, list] = {slug: [security_manager.find_role(access.ADMIN)] for slug in dashboards}
    for spec in access.ROLES:
        role = security_manager.add_role(spec.name)
        databases_granted = [databases[name] for name in spec.databases if name in databases]
        if len(databases_granted) < len(spec.databases):
            _say(f"role {spec.name!r}: its SQL Lab connection is not configured, no SQL Lab access")
        # SQL Lab runs statements that name no table on any connection: only with its own one.
        permissions = gamma + (sql_lab if spec.sql_lab and databases_granted else [])
        for slug in spec.dashboards:
            viewers[slug].append(role)
            for dataset in dashboard_datasets(dashboards[slug]):
                permissions.append(security_manager.add_permission_view_menu("datasource_access", dataset.perm))
        for database in databases_granted:
            permissions.append(security_manager.add_permission_view_menu("database_access", database.perm))
        role.permissions = list(dict.fromkeys(permissions))
    for slug, roles in viewers.items():
        dashboards[slug].roles = roles
    apply_client_filters(dashboard_datasets(dashboards[access.CLIENT_DASHBOARD]))
    db.session.commit()


def dashboard_datasets(dashboard) -> list:
    """Every dataset a dashboard reads: its charts' and its native filters' (values lists)."""
    from superset import db
    from superset.connectors.sqla.models import SqlaTable
    from superset.utils import json

    datasets = {chart.datasource.id: chart.datasource for chart in dashboard.slices if chart.datasource}
    metadata = json.loads(dashboard.json_metadata or "{}")
    target_ids = {
        target["datasetId"]
        for native_filter in metadata.get("native_filter_configuration", [])
        for target in native_filter.get("targets", [])
        if target.get("datasetId")
    }
    for dataset in db.session.query(SqlaTable).filter(SqlaTable.id.in_(target_ids - set(datasets))):
        datasets[dataset.id] = dataset
    return sorted(datasets.values(), key=lambda d: d.id)


def apply_client_filters(datasets: list) -> None:
    """Row-level security on every dataset a client viewer can read.

    One filter per client role (made by client_logins.py) keeps that client's rows; all share a
    group key, so they are ORed together, and the always-false filter on the Client Viewer role
    makes a client viewer without a client role see nothing rather than everything.
    """
    from superset import db, security_manager
    from superset.connectors.sqla.models import RowLevelSecurityFilter
    from superset.utils.core import RowLevelSecurityFilterType

    unfiltered = [d.table_name for d in datasets if access.CLIENT_COLUMN not in {c.column_name for c in d.columns}]
    if unfiltered:
        # A dataset without the column could not be filtered and would show every client's rows.
        raise RuntimeError(f"client review datasets without {access.CLIENT_COLUMN}: {unfiltered}")
    base = db.session.query(RowLevelSecurityFilter).filter_by(name=access.NO_CLIENT_FILTER).one_or_none()
    if base is None:
        base = RowLevelSecurityFilter(name=access.NO_CLIENT_FILTER)
        db.session.add(base)
    base.description = "Client viewers see rows only through their client roles."
    base.filter_type = RowLevelSecurityFilterType.REGULAR.value
    base.group_key = access.CLIENT_FILTER_GROUP
    base.clause = "1 = 0"
    base.roles = [security_manager.find_role(access.CLIENT_VIEWER)]
    # Client filters made earlier follow the dashboard as it gains datasets.
    for row_filter in db.session.query(RowLevelSecurityFilter).filter_by(group_key=access.CLIENT_FILTER_GROUP):
        row_filter.tables = list(datasets)


def main() -> None:
    admin_password = _required_env("SUPERSET_ADMIN_PASSWORD")
    # Dashboards need nothing but marts and reporting either, and SQL Lab runs statements that name
    # no table on any connection a user can see: no connection gets the owner's rights.
    uris = dict.fromkeys((access.WAREHOUSE_DATABASE, access.ANALYST_DATABASE), _required_env("PULSEOPS_ANALYST_URI"))
    assets_dir = Path(os.environ.get("PULSEOPS_SUPERSET_ASSETS") or ASSETS_DIR)

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        _say("upgrading the metadata database")
        upgrade_metadata_db()
        _say("syncing roles and permissions")
        sync_roles_and_permissions()
        admin = ensure_admin(admin_password)
        _say(f"importing dashboards from {assets_dir}")
        import_assets(uris, admin, assets_dir)
        _say("applying roles and row-level security")
        apply_access()
    _say("done")


if __name__ == "__main__":
    main()
