"""Prepare Superset's metadata database and load the PulseOps dashboards. Safe to run again.

Runs with the Superset virtual environment's python (it needs Superset's own SQLAlchemy 1.4):
    SUPERSET_CONFIG_PATH=.../superset_config.py SUPERSET_SECRET_KEY=... SUPERSET_HOME=... \
    SUPERSET_ADMIN_PASSWORD=... PULSEOPS_WAREHOUSE_URI=postgresql+psycopg2://... \
    .venv-superset/bin/python superset_config/bootstrap.py

The steps are those of `superset db upgrade`, `superset fab create-admin` and `superset init`,
done in one process because each Superset CLI call spends ~10 s building the app. The admin
password travels by environment, never on a command line where `ps` would show it.
"""
from __future__ import annotations

import os
import sys
import time

from asset_bundle import load_bundle

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


def import_assets(warehouse_uri: str, admin) -> None:
    """Upsert every database, dataset, chart and dashboard by uuid, overwriting earlier imports."""
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.utils.core import override_user

    with override_user(admin):
        ImportAssetsCommand(load_bundle(warehouse_uri)).run()


def main() -> None:
    admin_password = _required_env("SUPERSET_ADMIN_PASSWORD")
    warehouse_uri = _required_env("PULSEOPS_WAREHOUSE_URI")

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        _say("upgrading the metadata database")
        upgrade_metadata_db()
        _say("syncing roles and permissions")
        sync_roles_and_permissions()
        admin = ensure_admin(admin_password)
        _say("importing dashboards")
        import_assets(warehouse_uri, admin)
    _say("done")


if __name__ == "__main__":
    main()
