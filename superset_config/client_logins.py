"""Give an MSP's client a Superset login that sees only its own rows (its Client Review page).

    .venv/bin/python -m superset_config.client_logins add C00042 --username acme-review \
        --email it@acme.example [--url http://127.0.0.1:8088] [--password-file FILE]

makes, idempotently:
  - in the warehouse (DATABASE_URL, or the embedded PostgreSQL), the user's own login, which
    PostgreSQL's row-level security holds to the rows of its clients (C00042 added to any it had);
    its password is derived from PULSEOPS_CLIENT_LOGIN_KEY, which Superset holds too;
  - through Superset's REST API, the role `Client C00042` (no permissions of its own: it only
    selects rows),
  - the row-level security filter `client_id = 'C00042'` for that role on every dataset of the
    Client Review dashboard (the same tables as the bootstrap's catch-all filter),
  - the user, with the roles `Client Viewer` and `Client C00042` and a generated password, printed
    once (an existing user keeps its password and gets the roles).
The admin password comes from --password-file, SUPERSET_ADMIN_PASSWORD or the one `make run`
generated. Several client roles on one user show all of those clients' rows.
"""

from __future__ import annotations

import argparse
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg

from pulseops_core.secrets import secret
from pulseops_core.settings import Settings
from pulseops_core.warehouse import libpq_url, resolve_database_url
from pulseops_core.warehouse_logins import ensure_client_login
from superset_config import access
from superset_config.client_identity import KEY_VARIABLE, warehouse_login, warehouse_password
from superset_config.rest import DEFAULT_URL, SupersetClient, admin_password


@dataclass
class ClientLogin:
    username: str
    client_id: str
    password: str | None  # None when the user existed already


def ensure_role(api: SupersetClient, name: str) -> int:
    found = api.find("security/roles", "name", name)
    if found:
        return found[0]["id"]
    return api.request("POST", "/api/v1/security/roles/", {"name": name})["id"]


def ensure_client_filter(api: SupersetClient, client_id: str, role_id: int) -> int:
    """The client's row filter, on the tables the bootstrap's catch-all filter covers."""
    base = api.find("rowlevelsecurity", "name", access.NO_CLIENT_FILTER)
    if not base:
        raise RuntimeError(f"row-level security filter {access.NO_CLIENT_FILTER!r} missing: has the bootstrap run?")
    payload = {
        "name": access.client_filter_name(client_id),
        "description": f"Client viewers holding role {access.client_role(client_id)!r} see client {client_id}.",
        "filter_type": "Regular",
        "tables": [table["id"] for table in base[0]["tables"]],
        "roles": [role_id],
        "group_key": access.CLIENT_FILTER_GROUP,
        "clause": access.client_clause(client_id),
    }
    existing = api.find("rowlevelsecurity", "name", payload["name"])
    if existing:
        api.request("PUT", f"/api/v1/rowlevelsecurity/{existing[0]['id']}", payload)
        return existing[0]["id"]
    return api.request("POST", "/api/v1/rowlevelsecurity/", payload)["id"]


def add_warehouse_login(warehouse_url: str, login_key: str, client_id: str, username: str) -> None:
    """The user's own warehouse login, seeing `client_id`'s rows (and those of clients added before)."""
    login = warehouse_login(username)
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        ensure_client_login(conn, login, warehouse_password(login_key, login), username, [client_id])


def add_client_login(
    api: SupersetClient,
    warehouse_url: str,
    login_key: str,
    client_id: str,
    username: str,
    email: str,
    first_name: str = "Client",
    last_name: str | None = None,
) -> ClientLogin:
    access.check_client_id(client_id)
    add_warehouse_login(warehouse_url, login_key, client_id, username)
    client_role_id = ensure_role(api, access.client_role(client_id))
    ensure_client_filter(api, client_id, client_role_id)
    viewer = api.find("security/roles", "name", access.CLIENT_VIEWER)
    if not viewer:
        raise RuntimeError(f"role {access.CLIENT_VIEWER!r} missing: has the bootstrap run?")
    roles = [viewer[0]["id"], client_role_id]
    existing = api.find("security/users", "username", username)
    if existing:
        user = api.request("GET", f"/api/v1/security/users/{existing[0]['id']}")["result"]
        role_ids = sorted({*roles, *(role["id"] for role in user.get("roles", []))})
        api.request("PUT", f"/api/v1/security/users/{existing[0]['id']}", {"roles": role_ids})
        return ClientLogin(username, client_id, None)
    password = secrets.token_urlsafe(18)
    api.request(
        "POST",
        "/api/v1/security/users/",
        {
            "username": username,
            "email": email,
            "first_name": first_name,
            "last_name": last_name or client_id,
            "password": password,
            "active": True,
            "roles": roles,
        },
    )
    return ClientLogin(username, client_id, password)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create (or extend) a client's login")
    add.add_argument("client_id", help="PSA client id, as in marts.clients.client_id")
    add.add_argument("--username", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--url", default=DEFAULT_URL, help=f"Superset base URL (default {DEFAULT_URL})")
    add.add_argument("--admin", default="admin", help="admin user name")
    add.add_argument("--password-file", type=Path, help="file holding the admin password")
    args = parser.parse_args()
    settings = Settings.from_env()
    api = SupersetClient(args.url, args.admin, admin_password(args.password_file))
    login = add_client_login(
        api,
        resolve_database_url(settings),
        secret(settings.state_dir, KEY_VARIABLE),
        args.client_id,
        args.username,
        args.email,
    )
    if login.password:
        print(f"user {login.username} sees client {login.client_id}; password (shown once): {login.password}")
    else:
        print(f"user {login.username} existed; it now also sees client {login.client_id}")


if __name__ == "__main__":
    main()
