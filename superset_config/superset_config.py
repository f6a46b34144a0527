"""Superset settings for PulseOps, read from the environment (SUPERSET_CONFIG_PATH points here).

Superset loads this file after its own defaults, so only what differs from them is set.

    SUPERSET_SECRET_KEY        required; locally the launcher generates and keeps one
    PULSEOPS_ENV               `production` adds the checks and settings of a shared deployment
    SUPERSET_METADATA_URL      Superset's own database (required in production; SQLite otherwise)
    SUPERSET_CACHE_REDIS_URL   a Redis shared by every Superset process (file cache otherwise)
    PULSEOPS_SUPERSET_DATA_CACHE=off   chart results always come from the warehouse (benchmarks)
"""
import os
from datetime import timedelta

PRODUCTION = os.environ.get("PULSEOPS_ENV", "local").lower() == "production"

# No key is ever published with the code: a key in the repository would let anyone forge sessions
# and decrypt the database passwords Superset stores. Superset's own sample key is refused too.
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "")
if not SECRET_KEY:
    raise RuntimeError(
        "SUPERSET_SECRET_KEY is not set; start Superset through superset_config/launcher.py "
        "(which generates one locally) or pass it from the deployment's secret store"
    )
if PRODUCTION and (len(SECRET_KEY) < 32 or "CHANGE_ME" in SECRET_KEY.upper()):
    raise RuntimeError("SUPERSET_SECRET_KEY must be a random value of at least 32 characters in production")

_HOME = os.environ.get("SUPERSET_HOME") or os.path.expanduser("~/.superset")

# SQLite is enough for one local instance; a deployment with several Superset tasks must share a
# PostgreSQL metadata database, so production refuses to fall back to a file in the container.
_METADATA_URL = os.environ.get("SUPERSET_METADATA_URL", "")
if PRODUCTION and not _METADATA_URL:
    raise RuntimeError("SUPERSET_METADATA_URL (PostgreSQL) is required in production")
SQLALCHEMY_DATABASE_URI = _METADATA_URL or f"sqlite:///{os.path.join(_HOME, 'superset.db')}?check_same_thread=false"

# Flask-Limiter (login throttling) needs a store; in-memory avoids a Redis just for that.
RATELIMIT_STORAGE_URI = "memory://"


def _cache(kind: str, timeout: timedelta) -> dict:
    """A cache every gunicorn worker shares (unlike an in-process one), so they answer alike."""
    config = {"CACHE_DEFAULT_TIMEOUT": int(timeout.total_seconds()), "CACHE_KEY_PREFIX": f"pulseops_{kind}_"}
    if os.environ.get("SUPERSET_CACHE_REDIS_URL"):
        return {**config, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": os.environ["SUPERSET_CACHE_REDIS_URL"]}
    return {**config, "CACHE_TYPE": "FileSystemCache", "CACHE_DIR": os.path.join(_HOME, "cache", kind)}


CACHE_CONFIG = _cache("metadata", timedelta(hours=1))
# Chart results expire quickly because the pipeline can rewrite the marts at any time.
DATA_CACHE_CONFIG = _cache("data", timedelta(minutes=5))
if os.environ.get("PULSEOPS_SUPERSET_DATA_CACHE", "on").lower() == "off":
    DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# CSRF protection and the Talisman security headers stay at Superset's defaults (on).
if PRODUCTION:
    # Served behind an HTTPS load balancer: trust its X-Forwarded-* headers, keep cookies on TLS.
    ENABLE_PROXY_FIX = True
    SESSION_COOKIE_SECURE = True

FEATURE_FLAGS = {
    # A dashboard is granted to roles directly (superset_config/access.py), and only those roles
    # (and admins) see it, whatever datasets they can read elsewhere.
    "DASHBOARD_RBAC": True,
}

# No usage pixel to Superset's analytics service: dashboards here can hold client data, and the
# servers often have no route to the internet.
SCARF_ANALYTICS = False
