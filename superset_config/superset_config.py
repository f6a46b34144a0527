"""Superset settings for PulseOps, read from the environment (SUPERSET_CONFIG_PATH points here).

Superset loads this file after its own defaults, so only what differs from them is set.
"""
import os
from datetime import timedelta

# The launcher generates the key once per state folder and stores it with owner-only rights;
# refusing to start without it keeps sessions and encrypted database passwords from ever
# resting on a key that is published in the repository.
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "")
if not SECRET_KEY:
    raise RuntimeError("SUPERSET_SECRET_KEY is not set; start Superset through superset_config/launcher.py")

_HOME = os.environ.get("SUPERSET_HOME") or os.path.expanduser("~/.superset")

# SQLite is enough for one local instance; a shared deployment passes a PostgreSQL URL instead.
SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_METADATA_URL") or (
    f"sqlite:///{os.path.join(_HOME, 'superset.db')}?check_same_thread=false"
)

# Flask-Limiter (login throttling) needs a store; in-memory avoids a Redis just for that.
RATELIMIT_STORAGE_URI = "memory://"

# A file cache is shared by every gunicorn worker, unlike an in-process one, so both workers
# answer a repeated chart query the same way. Data expires quickly because the pipeline can
# rewrite the marts at any time.
_CACHE_DIR = os.path.join(_HOME, "cache")
CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": os.path.join(_CACHE_DIR, "metadata"),
    "CACHE_DEFAULT_TIMEOUT": int(timedelta(hours=1).total_seconds()),
    "CACHE_KEY_PREFIX": "pulseops_meta_",
}
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": os.path.join(_CACHE_DIR, "data"),
    "CACHE_DEFAULT_TIMEOUT": int(timedelta(minutes=5).total_seconds()),
    "CACHE_KEY_PREFIX": "pulseops_data_",
}

# CSRF protection and the Talisman security headers stay at Superset's defaults (on).

FEATURE_FLAGS = {
    # Lets a dashboard be granted to a role directly (the client-viewer and IT-manager roles),
    # instead of through every dataset permission it touches.
    "DASHBOARD_RBAC": True,
}
