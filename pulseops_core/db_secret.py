"""Survive RDS rotating the master password: on an authentication failure, read the secret again.

On AWS, ECS injects the master user's name and password (PULSEOPS_DB_USER, PULSEOPS_DB_PASSWORD) when a
task starts, and RDS rotates that password in Secrets Manager on its schedule. A long-running process
then holds a password the server no longer accepts. Where a connection is made from the injected
password, a failed authentication re-reads the secret named by PULSEOPS_DB_SECRET_ARN (RDS keeps
{"username": ..., "password": ...} there) and tries once more with the current value.

Without PULSEOPS_DB_SECRET_ARN (every local setup) nothing here does anything.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import MutableMapping
from urllib.parse import quote, urlsplit, urlunsplit

CREDENTIALS_ARN_VARIABLE = "PULSEOPS_DB_SECRET_ARN"
# How long a URL that authenticated is trusted before resolving it checks again.
RECHECK_SECONDS = 60.0

_checked_at: dict[str, float] = {}


def is_authentication_failure(error: BaseException) -> bool:
    """True when the server refused the password (not when it is unreachable or the query failed).

    libpq reports a refused password while connecting, before any SQLSTATE reaches the driver, so the
    server's message is matched as well as the SQLSTATE (28P01 invalid_password).
    """
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return sqlstate == "28P01" or "password authentication failed" in str(error)


def read_secret(secret_arn: str) -> dict[str, str]:
    """{"username", "password"} as RDS keeps them in Secrets Manager."""
    import boto3

    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    credentials = json.loads(value)
    return {"username": credentials["username"], "password": credentials["password"]}


def with_password(url: str, username: str, password: str) -> str:
    """`url` with other credentials (kept URL-encoded: RDS passwords may hold URL syntax)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"))


def refresh_environment(env: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Read the secret again and put the current credentials where this process reads them:
    PULSEOPS_DB_USER / PULSEOPS_DB_PASSWORD and the password inside DATABASE_URL."""
    credentials = read_secret(env[CREDENTIALS_ARN_VARIABLE])
    env["PULSEOPS_DB_USER"], env["PULSEOPS_DB_PASSWORD"] = credentials["username"], credentials["password"]
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = with_password(env["DATABASE_URL"], credentials["username"], credentials["password"])
    return credentials


def _connect(url: str):
    import psycopg

    scheme, rest = url.split("://", 1)
    return psycopg.connect(f"postgresql://{rest}", connect_timeout=10)


def current_url(url: str, env: MutableMapping[str, str] = os.environ) -> str:
    """`url` if its password still authenticates, else the same URL with the password read again.

    Only a refused password leads to a re-read; an unreachable server is left to the caller's own
    error handling. A URL that authenticated is not checked again for RECHECK_SECONDS.
    """
    if (
        not env.get(CREDENTIALS_ARN_VARIABLE)
        or time.monotonic() - _checked_at.get(url, -RECHECK_SECONDS) < RECHECK_SECONDS
    ):
        return url
    try:
        _connect(url).close()
    except Exception as error:  # noqa: BLE001 - psycopg's OperationalError; anything else is not ours
        if not is_authentication_failure(error):
            return url
        credentials = refresh_environment(env)
        url = with_password(url, credentials["username"], credentials["password"])
        _connect(url).close()  # the current secret must work; if not, the caller sees why
    _checked_at[url] = time.monotonic()
    return url
