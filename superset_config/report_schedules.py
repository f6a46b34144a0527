"""Scheduled e-mail reports in Superset's own Alerts & Reports, made from a configuration file.

    .venv/bin/python -m superset_config.report_schedules [--config FILE] [--url URL] [--password-file FILE]

The file (default: PULSEOPS_REPORTS_CONFIG, else <state>/reports.yaml; superset_config/reports.example.yaml
shows every key) names who gets what:
  - `dashboards`: a dashboard (by slug) to the e-mail addresses of every active user holding a role,
    and to further addresses, on a cron schedule (the weekly MSP portfolio and IT spend);
  - `client_reviews`: each client's Client Review page to that client's contacts, as a PDF, on one
    schedule (monthly). Each report is owned by the client's viewer user (made by
    superset_config.client_logins), and Superset runs a report as its owner (ALERT_REPORTS_EXECUTORS),
    so the worker's browser sees that client's rows only, through the client's own warehouse login.
Each run makes the schedules exactly what the file says, by name: a rerun changes nothing twice.
Superset's beat sends a due report every minute's check; its worker renders it with Debian's
chromium and mails it through SUPERSET_SMTP_* (the password only from the environment).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from superset_config import access
from superset_config.rest import DEFAULT_URL, SupersetClient, admin_password

REPORT_TYPE = "Report"
FORMATS = ("PDF", "PNG")


@dataclass(frozen=True)
class Schedule:
    """One report schedule as Superset stores it."""

    name: str
    dashboard: str  # slug
    crontab: str
    timezone: str
    report_format: str
    owner: str  # Superset username the report runs as
    recipients: tuple[str, ...] = ()
    roles: tuple[str, ...] = field(default=())  # every active member's address is added
    description: str = ""


class ReportConfigError(ValueError):
    pass


def client_review_name(client_id: str) -> str:
    return f"Client Review {access.check_client_id(client_id)}"


def read_config(path: Path) -> list[Schedule]:
    """The schedules a configuration file asks for; a clear error naming the file and the entry otherwise."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ReportConfigError(f"{path}: cannot read the report configuration: {error}") from error
    timezone = document.get("timezone", "UTC")
    schedules = []
    for number, entry in enumerate(document.get("dashboards") or [], start=1):
        where = f"{path}: dashboards entry {number}"
        slug = _required(entry, "dashboard", where)
        if slug not in access.DASHBOARDS:
            raise ReportConfigError(f"{where}: unknown dashboard {slug!r} (one of {', '.join(access.DASHBOARDS)})")
        schedules.append(
            Schedule(
                name=entry.get("name") or f"Weekly {slug}",
                dashboard=slug,
                crontab=_required(entry, "crontab", where),
                timezone=timezone,
                report_format=_format(entry, where),
                owner=entry.get("owner", "admin"),
                recipients=_addresses(entry.get("recipients"), where),
                roles=tuple(entry.get("roles") or ()),
                description=entry.get("description", ""),
            )
        )
    reviews = document.get("client_reviews") or {}
    for client_id, entry in (reviews.get("clients") or {}).items():
        where = f"{path}: client_reviews client {client_id}"
        try:
            access.check_client_id(str(client_id))
        except ValueError as error:
            raise ReportConfigError(f"{where}: {error}") from None
        recipients = _addresses(entry.get("recipients"), where)
        if not recipients:
            raise ReportConfigError(f"{where}: no recipients")
        schedules.append(
            Schedule(
                name=client_review_name(str(client_id)),
                dashboard=access.CLIENT_DASHBOARD,
                crontab=entry.get("crontab") or _required(reviews, "crontab", f"{path}: client_reviews"),
                timezone=timezone,
                report_format=_format({**reviews, **entry}, where),
                owner=_required(entry, "viewer", where),
                recipients=recipients,
                description=f"The Client Review of {client_id}, run as its viewer {entry['viewer']!r}: its rows only.",
            )
        )
    return schedules


def _required(entry: dict, key: str, where: str) -> str:
    value = entry.get(key) if isinstance(entry, dict) else None
    if not value:
        raise ReportConfigError(f"{where}: {key!r} is required")
    return str(value)


def _format(entry: dict, where: str) -> str:
    value = str(entry.get("format", "PDF")).upper()
    if value not in FORMATS:
        raise ReportConfigError(f"{where}: format {value!r} is not one of {', '.join(FORMATS)}")
    return value


def _addresses(value, where: str) -> tuple[str, ...]:
    addresses = tuple(value or ())
    bad = [address for address in addresses if "@" not in str(address) or "," in str(address)]
    if bad:
        raise ReportConfigError(f"{where}: not e-mail addresses: {bad}")
    return addresses


def role_addresses(api: SupersetClient, role: str) -> list[str]:
    """The e-mail addresses of the active users holding a role."""
    found = api.find("security/roles", "name", role)
    if not found:
        raise ReportConfigError(f"role {role!r} does not exist in Superset")
    query = f"(filters:!((col:roles,opr:rel_m_m,value:{found[0]['id']}),(col:active,opr:eq,value:!t)),page_size:100)"
    return sorted(
        user["email"] for user in api.request("GET", "/api/v1/security/users/", q=query)["result"] if user.get("email")
    )


def apply(api: SupersetClient, schedules: list[Schedule]) -> dict[str, int]:
    """Create or update each schedule by name; their ids by name."""
    ids = {}
    for schedule in schedules:
        dashboard = api.request("GET", f"/api/v1/dashboard/{schedule.dashboard}")["result"]
        owner = api.find("security/users", "username", schedule.owner)
        if not owner:
            raise ReportConfigError(f"{schedule.name}: user {schedule.owner!r} does not exist in Superset")
        recipients = list(
            dict.fromkeys([*schedule.recipients, *(a for role in schedule.roles for a in role_addresses(api, role))])
        )
        if not recipients:
            raise ReportConfigError(f"{schedule.name}: no recipient (no address given, no active user in its roles)")
        payload = {
            "type": REPORT_TYPE,
            "name": schedule.name,
            "description": schedule.description,
            "dashboard": dashboard["id"],
            "crontab": schedule.crontab,
            "timezone": schedule.timezone,
            "report_format": schedule.report_format,
            "active": True,
            "owners": [owner[0]["id"]],
            "recipients": [{"type": "Email", "recipient_config_json": {"target": ", ".join(recipients)}}],
            "creation_method": "alerts_reports",
            "force_screenshot": True,
            "working_timeout": 600,
        }
        existing = api.find("report", "name", schedule.name)
        if existing:
            payload.pop("creation_method")
            api.request("PUT", f"/api/v1/report/{existing[0]['id']}", payload)
            ids[schedule.name] = existing[0]["id"]
        else:
            ids[schedule.name] = api.request("POST", "/api/v1/report/", payload)["id"]
    return ids


def default_config_path() -> Path:
    if os.environ.get("PULSEOPS_REPORTS_CONFIG"):
        return Path(os.environ["PULSEOPS_REPORTS_CONFIG"])
    from pulseops_core.settings import Settings

    return Settings.from_env().state_dir / "reports.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        type=Path,
        help="the report configuration (default: PULSEOPS_REPORTS_CONFIG or <state>/reports.yaml)",
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"Superset base URL (default {DEFAULT_URL})")
    parser.add_argument("--admin", default="admin", help="admin user name")
    parser.add_argument("--password-file", type=Path, help="file holding the admin password")
    args = parser.parse_args()
    try:
        schedules = read_config(args.config or default_config_path())
        api = SupersetClient(args.url, args.admin, admin_password(args.password_file))
        for name, report_id in apply(api, schedules).items():
            print(f"report {report_id}: {name}")
    except ReportConfigError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
