"""Client viewers query the warehouse as their own login (Superset's DB_CONNECTION_MUTATOR).

Every other user's queries run as the connection's login (the read-only analyst). A user holding
the Client Viewer role runs every query, whatever its path (chart data, samples, filter values,
exports), as the warehouse login made for that user by client_logins.py; PostgreSQL's row-level
security then returns only that login's clients' rows. A client viewer with no such login gets a
failed connection, never the analyst's.
"""
from __future__ import annotations

import os

import access
from client_identity import KEY_VARIABLE, warehouse_login, warehouse_password


def connect_client_viewers_as_themselves(url, engine_kwargs, username, security_manager, source):
    user = security_manager.find_user(username=username) if username else None
    if user is None or access.CLIENT_VIEWER not in {role.name for role in user.roles}:
        return url, engine_kwargs
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        raise RuntimeError(f"{KEY_VARIABLE} is not set: client viewers cannot query the warehouse")
    login = warehouse_login(user.username)
    return url.set(username=login, password=warehouse_password(key, login)), engine_kwargs
