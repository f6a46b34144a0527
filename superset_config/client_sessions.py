"""Client viewers query the warehouse as their own login (Superset's DB_CONNECTION_MUTATOR).

Every other user's queries run as the connection's login (the read-only analyst). A user holding
the Client Viewer role runs every query, whatever its path (chart data, samples, filter values,
exports), as the warehouse login made for that user by client_logins.py; PostgreSQL's row-level
security then returns only that login's clients' rows. A client viewer with no such login gets a
failed connection, never the analyst's.
"""

from __future__ import annotations

import os

from flask import g

import access
from client_identity import KEY_VARIABLE, warehouse_login, warehouse_password


def client_login_of(user) -> str | None:
    """The warehouse login a user's queries run as: its own for a client viewer, else None (the analyst)."""
    if user is None or access.CLIENT_VIEWER not in {role.name for role in getattr(user, "roles", ())}:
        return None
    return warehouse_login(user.username)


def connect_client_viewers_as_themselves(url, engine_kwargs, username, security_manager, source):
    login = client_login_of(security_manager.find_user(username=username) if username else None)
    if login is None:
        return url, engine_kwargs
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        raise RuntimeError(f"{KEY_VARIABLE} is not set: client viewers cannot query the warehouse")
    return url.set(username=login, password=warehouse_password(key, login)), engine_kwargs


class CachedPerWarehouseLogin:
    """Cached chart results are keyed by the warehouse login that produced them.

    Row-level security judges the login, not the Superset user: every staff user queries as the
    analyst and may share one cached result (a dashboard's first viewer warms it for the next),
    while each client viewer's results are its own. Superset adds this key (its row-level-security
    cache key) to every chart query's cache key, on the web server and the async worker alike."""

    def get_rls_cache_key(self, datasource) -> list[str]:
        login = client_login_of(getattr(g, "user", None))
        return [*super().get_rls_cache_key(datasource), *([f"warehouse_login={login}"] if login else [])]
