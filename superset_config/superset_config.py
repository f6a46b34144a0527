"""Superset settings for PulseOps, read from the environment (SUPERSET_CONFIG_PATH points here).

Superset loads this file after its own defaults, so only what differs from them is set.

    SUPERSET_SECRET_KEY        required; locally pulseops_cli/superset_service.py generates and keeps one
    PULSEOPS_ENV               `production` adds the checks and settings of a shared deployment
    SUPERSET_METADATA_URL      Superset's own database (required in production; SQLite otherwise)
    SUPERSET_CACHE_REDIS_URL   a Redis shared by every Superset process: caches and the login rate
                               limit (required in production; files and memory otherwise)
    PULSEOPS_CLIENT_LOGIN_KEY  derives the warehouse passwords of client viewers' logins
    PULSEOPS_SUPERSET_DATA_CACHE=off   chart results always come from the warehouse (benchmarks)
"""
import os
import sys
from datetime import timedelta

# The sibling modules (access rules, client sessions, the chart SQL guard) import as top-level names.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chart_sql_guard import PulseOpsSecurityManager  # noqa: E402
from client_sessions import connect_client_viewers_as_themselves  # noqa: E402

PRODUCTION = os.environ.get("PULSEOPS_ENV", "local").lower() == "production"

# No key is ever published with the code: a key in the repository would let anyone forge sessions
# and decrypt the database passwords Superset stores. Superset's own sample key is refused too.
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "")
if not SECRET_KEY:
    raise RuntimeError(
        "SUPERSET_SECRET_KEY is not set; start Superset through pulseops_cli/superset_service.py "
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

_REDIS_URL = os.environ.get("SUPERSET_CACHE_REDIS_URL", "")
if PRODUCTION and not _REDIS_URL:
    raise RuntimeError("SUPERSET_CACHE_REDIS_URL is required in production: every Superset task shares "
                       "its caches and login rate limits through it")
# Flask-Limiter (login throttling) counts in a store every Superset process shares; one instance
# alone may count in memory.
RATELIMIT_STORAGE_URI = _REDIS_URL or "memory://"


def _cache(kind: str, timeout: timedelta) -> dict:
    """A cache every gunicorn worker shares (unlike an in-process one), so they answer alike."""
    config = {"CACHE_DEFAULT_TIMEOUT": int(timeout.total_seconds()), "CACHE_KEY_PREFIX": f"pulseops_{kind}_"}
    if _REDIS_URL:
        return {**config, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": _REDIS_URL}
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
    # Superset throttles logins only when told it runs in production.
    RATELIMIT_ENABLED = True
    AUTH_RATE_LIMIT = "10 per minute"

# Isolation between clients: a client viewer queries the warehouse as its own login, which
# PostgreSQL's row-level security holds to that client's rows (client_sessions.py); chart requests
# carry SQL text only from roles that may write SQL (chart_sql_guard.py).
DB_CONNECTION_MUTATOR = connect_client_viewers_as_themselves
CUSTOM_SECURITY_MANAGER = PulseOpsSecurityManager
# Functions refused in SQL Lab and in chart requests: Superset's list, plus those that run a query
# given as text, sleep, write large objects or files, or change settings.
DISALLOWED_SQL_FUNCTIONS = {
    "postgresql": {
        "current_database", "current_schema", "current_user", "session_user", "current_setting", "version",
        "inet_client_addr", "inet_client_port", "inet_server_addr", "inet_server_port",
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
        "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
        "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema",
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
        "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
        "cursor_to_xml", "cursor_to_xmlschema", "ts_stat", "ts_rewrite",
        "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_terminate_backend", "pg_cancel_backend",
        "set_config", "lo_import", "lo_export", "lo_create", "lo_creat", "lo_from_bytea", "lo_put",
        "lo_unlink", "lo_open", "lowrite", "loread", "lo_get",
        "dblink", "dblink_exec", "dblink_connect", "pg_advisory_lock", "pg_advisory_xact_lock",
        "pg_notify",
    },
}

FEATURE_FLAGS = {
    # A dashboard is granted to roles directly (superset_config/access.py), and only those roles
    # (and admins) see it, whatever datasets they can read elsewhere.
    "DASHBOARD_RBAC": True,
    # Every cached chart result is keyed by the user who asked, so a result cached for one
    # client is never served to another (their row-level identities differ by user).
    "CACHE_QUERY_BY_USER": True,
}

# No usage pixel to Superset's analytics service: dashboards here can hold client data, and the
# servers often have no route to the internet.
SCARF_ANALYTICS = False
