"""Superset settings for PulseOps, read from the environment (SUPERSET_CONFIG_PATH points here).

Superset loads this file after its own defaults, so only what differs from them is set.

    SUPERSET_SECRET_KEY        required; locally pulseops_cli/superset_service.py generates and keeps one
    PULSEOPS_ENV               `production` adds the checks and settings of a shared deployment
    SUPERSET_METADATA_URL      Superset's own database (required in production; SQLite otherwise)
    SUPERSET_CACHE_REDIS_URL   a Redis shared by every Superset process: caches, the login rate
                               limit, and the Celery broker and results of the report worker and the
                               asynchronous chart queries (required in production; without it caches
                               are files, there is no worker, and charts query synchronously)
    PULSEOPS_REDIS_PREFIX      keeps this Superset's keys and queues apart from others on one Redis
    SUPERSET_WEBDRIVER_BASEURL where the report worker's browser reaches the web server
    SUPERSET_PUBLIC_URL        the address in report e-mails' links (default: the webdriver's)
    SUPERSET_SMTP_HOST, _PORT, _USER, _PASSWORD, _MAIL_FROM, _STARTTLS, _SSL   the mail server of
                               scheduled reports (the password only from the environment)
    PULSEOPS_CLIENT_LOGIN_KEY  derives the warehouse passwords of client viewers' logins
    PULSEOPS_SUPERSET_DATA_CACHE=off   chart results always come from the warehouse (benchmarks)
    PULSEOPS_SUPERSET_ASYNC_QUERIES    on|off: chart queries on the Celery worker (default on in
                               production; needs the Redis and the data cache)
"""

import hashlib
import hmac
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from celery.schedules import crontab
from celery.signals import task_prerun
from superset.tasks.types import ExecutorType

# The sibling modules (access rules, client sessions, the chart SQL guard) import as top-level names.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chart_sql_guard import PulseOpsSecurityManager  # noqa: E402
from client_sessions import CachedPerWarehouseLogin, connect_client_viewers_as_themselves  # noqa: E402

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
    raise RuntimeError(
        "SUPERSET_CACHE_REDIS_URL is required in production: every Superset task shares "
        "its caches and login rate limits through it"
    )
# Flask-Limiter (login throttling) counts in a store every Superset process shares; one instance
# alone may count in memory.
RATELIMIT_STORAGE_URI = _REDIS_URL or "memory://"
# Several Superset instances may share one Redis (tests, a developer's machine): every key, queue
# and stream of this one starts with its own prefix.
_PREFIX = os.environ.get("PULSEOPS_REDIS_PREFIX") or "pulseops"


def _cache(kind: str, timeout: timedelta) -> dict:
    """A cache every Superset process shares (unlike an in-process one), so they answer alike."""
    config = {"CACHE_DEFAULT_TIMEOUT": int(timeout.total_seconds()), "CACHE_KEY_PREFIX": f"{_PREFIX}_{kind}_"}
    if _REDIS_URL:
        return {**config, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": _REDIS_URL}
    return {**config, "CACHE_TYPE": "FileSystemCache", "CACHE_DIR": os.path.join(_HOME, "cache", kind)}


CACHE_CONFIG = _cache("metadata", timedelta(hours=1))
# Chart results expire quickly because the pipeline can rewrite the marts at any time.
DATA_CACHE_CONFIG = _cache("data", timedelta(minutes=5))
_DATA_CACHE_ON = os.environ.get("PULSEOPS_SUPERSET_DATA_CACHE", "on").lower() != "off"
if not _DATA_CACHE_ON:
    DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
# Dashboard filter and explore states, shared so that a link made on one task opens on another.
FILTER_STATE_CACHE_CONFIG = _cache("filter_state", timedelta(days=90))
EXPLORE_FORM_DATA_CACHE_CONFIG = _cache("explore_state", timedelta(days=7))
THUMBNAIL_CACHE_CONFIG = _cache("thumbnails", timedelta(days=1))

# With a Redis there is a Celery worker and beat (superset_config/launcher.py, the AWS worker
# service): the broker, its results, SQL Lab's asynchronous results and the report schedules.
if _REDIS_URL:
    import redis
    from cachelib.redis import RedisCache

    RESULTS_BACKEND = RedisCache(host=redis.Redis.from_url(_REDIS_URL), key_prefix=f"{_PREFIX}_sqllab_")

    class CeleryConfig:
        broker_url = _REDIS_URL
        result_backend = _REDIS_URL
        # Queues, results and locks of this instance only, on a Redis others may share.
        broker_transport_options: ClassVar[dict] = {"global_keyprefix": f"{_PREFIX}_celery_"}
        result_backend_transport_options: ClassVar[dict] = {"global_keyprefix": f"{_PREFIX}_celery_"}
        # Superset's own list; it registers the asynchronous query tasks itself when they are on.
        imports = ("superset.sql_lab", "superset.tasks.scheduler", "superset.tasks.thumbnails", "superset.tasks.cache")
        worker_prefetch_multiplier = 1
        task_acks_late = False
        beat_schedule: ClassVar[dict] = {
            # Superset's own scheduler: every minute it sends the reports whose cron is due.
            "reports.scheduler": {"task": "reports.scheduler", "schedule": crontab(minute="*", hour="*")},
            "reports.prune_log": {"task": "reports.prune_log", "schedule": crontab(minute=0, hour=0)},
        }

    CELERY_CONFIG = CeleryConfig

    @task_prerun.connect
    def _eta_as_datetime(task=None, **_) -> None:
        """Superset's report task stores Celery's `request.eta` as the run's scheduled time; Celery 5
        hands it over as ISO text, which a SQLite metadata database refuses (PostgreSQL casts it)."""
        eta = getattr(getattr(task, "request", None), "eta", None)
        if isinstance(eta, str):
            moment = datetime.fromisoformat(eta)
            if moment.tzinfo:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            task.request.eta = moment


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


class SecurityManager(CachedPerWarehouseLogin, PulseOpsSecurityManager):
    pass


CUSTOM_SECURITY_MANAGER = SecurityManager
# Functions refused in SQL Lab and in chart requests: Superset's list, plus those that run a query
# given as text, sleep, write large objects or files, or change settings.
DISALLOWED_SQL_FUNCTIONS = {
    "postgresql": {
        "current_database",
        "current_schema",
        "current_user",
        "session_user",
        "current_setting",
        "version",
        "inet_client_addr",
        "inet_client_port",
        "inet_server_addr",
        "inet_server_port",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "database_to_xml",
        "database_to_xmlschema",
        "database_to_xml_and_xmlschema",
        "schema_to_xml",
        "schema_to_xmlschema",
        "schema_to_xml_and_xmlschema",
        "query_to_xml",
        "query_to_xmlschema",
        "query_to_xml_and_xmlschema",
        "table_to_xml",
        "table_to_xmlschema",
        "table_to_xml_and_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "ts_stat",
        "ts_rewrite",
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "set_config",
        "lo_import",
        "lo_export",
        "lo_create",
        "lo_creat",
        "lo_from_bytea",
        "lo_put",
        "lo_unlink",
        "lo_open",
        "lowrite",
        "loread",
        "lo_get",
        "dblink",
        "dblink_exec",
        "dblink_connect",
        "pg_advisory_lock",
        "pg_advisory_xact_lock",
        "pg_notify",
    },
}

# Chart queries run on the Celery worker, the browser polling for their results (on in production
# and under `pulseops up`). The worker runs each as the user who asked, so a client viewer's query
# still goes through its own warehouse login. Superset hands results over through the data cache.
_ASYNC_QUERIES = (
    os.environ.get("PULSEOPS_SUPERSET_ASYNC_QUERIES", "on" if PRODUCTION else "off").lower() == "on"
    and bool(_REDIS_URL)
    and _DATA_CACHE_ON
)
if _ASYNC_QUERIES:
    # This backend takes the parts of the address, not a URL.
    _redis = urlsplit(_REDIS_URL)
    GLOBAL_ASYNC_QUERIES_CACHE_BACKEND = {
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_HOST": _redis.hostname,
        "CACHE_REDIS_PORT": _redis.port or 6379,
        "CACHE_REDIS_USER": unquote(_redis.username or ""),
        "CACHE_REDIS_PASSWORD": unquote(_redis.password or ""),
        "CACHE_REDIS_DB": int(_redis.path.strip("/") or 0),
        "CACHE_REDIS_SSL": _redis.scheme == "rediss",
        "CACHE_KEY_PREFIX": f"{_PREFIX}_async_",
    }
    GLOBAL_ASYNC_QUERIES_REDIS_STREAM_PREFIX = f"{_PREFIX}_async_events_"
    # Signs the browser's channel token; derived from SECRET_KEY so there is no second secret to keep.
    GLOBAL_ASYNC_QUERIES_JWT_SECRET = hmac.new(SECRET_KEY.encode(), b"global-async-queries", hashlib.sha256).hexdigest()
    GLOBAL_ASYNC_QUERIES_JWT_COOKIE_SECURE = PRODUCTION

FEATURE_FLAGS = {
    # A dashboard is granted to roles directly (superset_config/access.py), and only those roles
    # (and admins) see it, whatever datasets they can read elsewhere.
    "DASHBOARD_RBAC": True,
    # Cached chart results are keyed by the warehouse login, not the user (client_sessions.py).
    "CACHE_QUERY_BY_USER": False,
    "GLOBAL_ASYNC_QUERIES": _ASYNC_QUERIES,
    # Scheduled reports (superset_config/report_schedules.py) need the worker and beat.
    "ALERT_REPORTS": bool(_REDIS_URL),
}

# Scheduled reports. A report runs as its owner: a client's Client Review is owned by that client's
# viewer user, so the worker's browser sees only that client's rows, through the same login and
# row-level security as the client does.
ALERT_REPORTS_EXECUTORS = [ExecutorType.OWNER]
# Selenium with Debian's chromium and chromedriver: Superset 6.1's Playwright path launches only
# Playwright's own downloaded browser (it takes no executable path), which these machines cannot fetch.
WEBDRIVER_TYPE = "chrome"
WEBDRIVER_OPTION_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WEBDRIVER_CONFIGURATION = {
    "service": {
        "executable_path": os.environ.get("PULSEOPS_CHROMEDRIVER", "/usr/bin/chromedriver"),
        "log_output": "/dev/null",
        "service_args": [],
        "port": 0,
        "env": {},
    },
}
WEBDRIVER_WINDOW = {"dashboard": (1600, 2000), "slice": (1600, 1200), "pixel_density": 1}
WEBDRIVER_BASEURL = os.environ.get("SUPERSET_WEBDRIVER_BASEURL", "http://127.0.0.1:8088/")
WEBDRIVER_BASEURL_USER_FRIENDLY = os.environ.get("SUPERSET_PUBLIC_URL") or WEBDRIVER_BASEURL
EMAIL_REPORTS_SUBJECT_PREFIX = "[PulseOps] "
SMTP_HOST = os.environ.get("SUPERSET_SMTP_HOST", "localhost")
SMTP_PORT = int(os.environ.get("SUPERSET_SMTP_PORT", "25"))
SMTP_USER = os.environ.get("SUPERSET_SMTP_USER", "")
SMTP_PASSWORD = os.environ.get("SUPERSET_SMTP_PASSWORD", "")
SMTP_MAIL_FROM = os.environ.get("SUPERSET_SMTP_MAIL_FROM", "reports@pulseops.invalid")
SMTP_STARTTLS = os.environ.get("SUPERSET_SMTP_STARTTLS", "true").lower() == "true"
SMTP_SSL = os.environ.get("SUPERSET_SMTP_SSL", "false").lower() == "true"

# No usage pixel to Superset's analytics service: dashboards here can hold client data, and the
# servers often have no route to the internet.
SCARF_ANALYTICS = False
