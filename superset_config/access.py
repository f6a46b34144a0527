"""Who may see what in Superset: the PulseOps roles, their dashboards, and the client row filter.

Plain Python (no Superset import): the bootstrap applies it inside Superset, the client-login
command and the tests read it from the main environment.

Each role gets Superset's read-only "Gamma" permissions, access to exactly the datasets its
dashboards use, and is the only role (with Admin) that sees those dashboards. Client viewers also
pass through row-level security: every dataset of the Client Review dashboard is filtered on
`client_id` by the client roles the user holds (`Client <client_id>`, made by
superset_config/client_logins.py); a client viewer holding none sees no rows at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ADMIN = "Admin"  # Superset's built-in role: everything
MSP_ANALYST = "MSP Analyst"
IT_MANAGER = "IT Manager"
CLIENT_VIEWER = "Client Viewer"
SQL_ANALYST = "SQL Analyst"

WAREHOUSE_DATABASE = "PulseOps Warehouse"
ANALYST_DATABASE = "PulseOps Warehouse (read-only)"
# The roles that may write SQL (SQL Lab, and SQL text in chart requests); everyone else gets saved
# charts and filters only (superset_config/chart_sql_guard.py).
SQL_WRITER_ROLES = (ADMIN, SQL_ANALYST)

MSP_DASHBOARD = "msp-portfolio"
IT_DASHBOARD = "it-spend"
CLIENT_DASHBOARD = "client-review"
DATA_HEALTH_DASHBOARD = "data-health"
DASHBOARDS = (MSP_DASHBOARD, IT_DASHBOARD, CLIENT_DASHBOARD, DATA_HEALTH_DASHBOARD)

CLIENT_COLUMN = "client_id"
# Client filters share this group key, so Superset ORs them: a user with two client roles sees both.
CLIENT_FILTER_GROUP = "client_id"
NO_CLIENT_FILTER = "Client viewers without a client see nothing"


@dataclass(frozen=True)
class RoleSpec:
    name: str
    description: str
    dashboards: tuple[str, ...]
    sql_lab: bool = False
    # Databases the role may query in SQL Lab.
    databases: tuple[str, ...] = ()


ROLES = (
    RoleSpec(
        MSP_ANALYST,
        "MSP owners and account managers: the client portfolio and every client's review.",
        (MSP_DASHBOARD, CLIENT_DASHBOARD),
    ),
    RoleSpec(IT_MANAGER, "IT and finance managers: software spend, licences, renewals.", (IT_DASHBOARD,)),
    RoleSpec(CLIENT_VIEWER, "An MSP's client: its own review page, its own rows only.", (CLIENT_DASHBOARD,)),
    RoleSpec(
        SQL_ANALYST,
        "SQL Lab on the read-only warehouse login (marts and reporting) and data health.",
        (DATA_HEALTH_DASHBOARD,),
        sql_lab=True,
        databases=(ANALYST_DATABASE,),
    ),
)

_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_client_id(client_id: str) -> str:
    """Client ids go into an SQL clause: allow only plain identifiers."""
    if not _CLIENT_ID.fullmatch(client_id):
        raise ValueError(f"not a plain client id: {client_id!r}")
    return client_id


def client_role(client_id: str) -> str:
    return f"Client {check_client_id(client_id)}"


def client_filter_name(client_id: str) -> str:
    return f"Rows of client {check_client_id(client_id)}"


def client_clause(client_id: str) -> str:
    return f"{CLIENT_COLUMN} = '{check_client_id(client_id)}'"
