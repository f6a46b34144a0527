"""The warehouse login that serves one client viewer's Superset user (plain Python, both venvs).

Each client viewer queries the warehouse as a login of its own, so PostgreSQL's row-level security
(pulseops_core/warehouse_logins.py) knows whose rows the session may read. Its password is derived
from PULSEOPS_CLIENT_LOGIN_KEY, a secret only the operator's tools and the Superset server hold:
the client_logins command sets it when it creates the login, and Superset derives it again for
each query, so no per-client password has to be stored anywhere.
"""

from __future__ import annotations

import hashlib
import hmac

LOGIN_PREFIX = "pulseops_cv_"
KEY_VARIABLE = "PULSEOPS_CLIENT_LOGIN_KEY"


def warehouse_login(superset_username: str) -> str:
    """A PostgreSQL role name for any Superset user name (which may hold any character)."""
    return LOGIN_PREFIX + hashlib.sha256(superset_username.encode()).hexdigest()[:24]


def warehouse_password(key: str, login: str) -> str:
    if len(key) < 32:
        raise ValueError(f"{KEY_VARIABLE} must be a random value of at least 32 characters")
    return hmac.new(key.encode(), login.encode(), hashlib.sha256).hexdigest()
