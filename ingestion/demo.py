"""A seeded demo generator: realistic MSP and IT source files with planted signals.

Writes one CSV per entity into the landing zone of an object store, plus a ground-truth file
(`demo_truth/ground_truth.json`) naming the planted churners and spend anomalies.
Planted signals: clients that churn after rising P1 tickets and SLA misses; unused seats;
a spend spike and a level shift in one department's daily cloud costs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd

from ingestion.object_store import ObjectStore


@dataclass(frozen=True)
class Scale:
    clients: int
    months: int
    employees: int
    usage_days: int


SCALES = {
    "XS": Scale(clients=24, months=8, employees=40, usage_days=21),
    "S": Scale(clients=80, months=15, employees=200, usage_days=60),
    "M": Scale(clients=2000, months=24, employees=8000, usage_days=180),
}

INDUSTRIES = ["Healthcare", "Legal", "Manufacturing", "Retail", "Finance", "Education", "Construction"]
REGIONS = ["North", "South", "East", "West"]
SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Operations", "Support"]
APPS = [  # name, vendor, category, price per seat
    ("Microsoft 365 E3", "Microsoft", "Productivity", 36.0),
    ("Slack Business+", "Salesforce", "Collaboration", 12.5),
    ("Microsoft Teams", "Microsoft", "Collaboration", 4.0),
    ("Zoom Pro", "Zoom", "Video", 14.99),
    ("Salesforce Sales Cloud", "Salesforce", "CRM", 165.0),
    ("HubSpot Sales Hub", "HubSpot", "CRM", 90.0),
    ("Atlassian Jira", "Atlassian", "Engineering", 8.6),
    ("GitHub Enterprise", "GitHub", "Engineering", 21.0),
    ("Adobe Creative Cloud", "Adobe", "Design", 89.99),
    ("Figma Professional", "Figma", "Design", 15.0),
    ("DocuSign Business", "DocuSign", "Productivity", 40.0),
    ("Notion Plus", "Notion", "Productivity", 10.0),
]
TICKET_CATEGORIES = ["Password reset", "Email", "Network", "Hardware", "Software", "Security", "Backup"]


def generate(scale: Scale, as_of: date, seed: int = 7) -> tuple[dict[str, pd.DataFrame], dict]:
    """Build every entity as a DataFrame keyed `<source>/<entity>`, and the ground truth."""
    rng = np.random.default_rng(seed)
    frames: dict[str, pd.DataFrame] = {}
    truth: dict = {"as_of": as_of.isoformat(), "seed": seed}
    first_month = (pd.Timestamp(as_of) - pd.DateOffset(months=scale.months - 1)).to_period("M").start_time

    clients, churners = _clients(rng, scale, first_month, as_of)
    frames["psa/clients"] = clients
    frames["psa/agreements"] = _agreements(rng, clients, churners, as_of)
    frames["psa/tickets"] = _tickets(rng, clients, churners, first_month, as_of)
    truth["churned_clients"] = sorted(churners)

    apps = pd.DataFrame({
        "application_id": [f"APP{i:03d}" for i in range(len(APPS))],
        "application_name": [a[0] for a in APPS],
        "vendor": [a[1] for a in APPS],
        "category": [a[2] for a in APPS],
        "sanctioned": ["true"] * (len(APPS) - 1) + ["false"],
    })
    frames["saas/applications"] = apps
    subs, assignments, usage, inactive = _saas(rng, scale, apps, as_of)
    frames["saas/subscriptions"] = subs
    frames["saas/licence_assignments"] = assignments
    frames["saas/daily_usage"] = usage
    truth["inactive_assignments"] = inactive
    costs, anomalies = _focus_costs(rng, scale, as_of)
    frames["focus/costs"] = costs
    truth["spend_anomalies"] = anomalies
    return frames, truth


def _clients(rng, scale: Scale, first_month, as_of: date):
    n = scale.clients
    ids = [f"C{i:05d}" for i in range(1, n + 1)]
    onboarded = [
        (first_month - pd.Timedelta(days=int(d))).date() for d in rng.integers(30, 1500, n)
    ]
    clients = pd.DataFrame({
        "client_id": ids,
        "client_name": [f"{w} {s}" for w, s in zip(rng.choice(["Acme", "Northwind", "Contoso", "Fabrikam",
                                                               "Globex", "Initech", "Umbrella", "Stark",
                                                               "Wayne", "Tyrell"], n),
                                                   [f"Group {i}" for i in range(1, n + 1)])],
        "industry": rng.choice(INDUSTRIES, n),
        "segment": rng.choice(SEGMENTS, n, p=[0.6, 0.3, 0.1]),
        "region": rng.choice(REGIONS, n),
        "onboarded_date": onboarded,
        "employee_count": rng.integers(5, 400, n),
    })
    # About a quarter of the clients cancel, somewhere in the second half of the history.
    churners = set(rng.choice(ids, size=max(1, n // 4), replace=False))
    return clients, churners


def _churn_date(client_id: str, as_of: date) -> date:
    # Deterministic per client so tickets and agreements agree on it.
    offset = (int(client_id[1:]) * 37) % 150
    return as_of - timedelta(days=20 + offset)


def _agreements(rng, clients: pd.DataFrame, churners: set, as_of: date) -> pd.DataFrame:
    rows = []
    seq = 0
    for client in clients.itertuples():
        seats = max(5, int(client.employee_count * rng.uniform(0.6, 1.0)))
        types = ["managed_services"] + list(rng.choice(["backup", "security", "m365_resale", "block_hours"],
                                                      size=rng.integers(0, 4), replace=False))
        for agreement_type in types:
            seq += 1
            unit_price = {"managed_services": 95.0, "backup": 12.0, "security": 18.0,
                          "m365_resale": 22.0, "block_hours": 150.0}[agreement_type]
            units = 10 if agreement_type == "block_hours" else seats
            start = client.onboarded_date + timedelta(days=int(rng.integers(0, 60)))
            cancelled = client.client_id in churners
            cancelled_date = _churn_date(client.client_id, as_of) if cancelled else None
            rows.append({
                "agreement_id": f"AG{seq:06d}",
                "client_id": client.client_id,
                "agreement_type": agreement_type,
                "start_date": start,
                "end_date": cancelled_date,
                "monthly_amount": round(units * unit_price, 2),
                "units": units,
                "unit_price": unit_price,
                "cancelled": "true" if cancelled else "false",
                "cancelled_date": cancelled_date,
                "cancellation_reason": rng.choice(["Price", "Service quality", "Acquired", "In-house IT"])
                if cancelled else None,
            })
    return pd.DataFrame(rows)


def _tickets(rng, clients: pd.DataFrame, churners: set, first_month, as_of: date) -> pd.DataFrame:
    frames = []
    start = pd.Timestamp(first_month)
    end = pd.Timestamp(as_of)
    span_days = (end - start).days
    for client in clients.itertuples():
        churner = client.client_id in churners
        last_day = pd.Timestamp(_churn_date(client.client_id, as_of)) if churner else end
        n = max(3, int(client.employee_count / 8 * span_days / 30 * rng.uniform(0.3, 0.8)))
        created = start + pd.to_timedelta(rng.uniform(0, (last_day - start).days, n), unit="D")
        # Churners suffer in their last 120 days: more P1s and more SLA misses.
        troubled = churner & ((last_day - created).days < 120)
        p1 = np.where(troubled, 0.30, 0.05)
        priority = np.where(rng.random(n) < p1, "P1", rng.choice(["P2", "P3", "P4"], n, p=[0.25, 0.5, 0.25]))
        miss_rate = np.where(troubled, 0.45, 0.07)
        response_met = rng.random(n) >= miss_rate
        response_hours = np.where(response_met, rng.uniform(0.1, 2, n), rng.uniform(2, 12, n))
        resolve_hours = response_hours + rng.gamma(2.0, 6.0, n)
        resolved = created + pd.to_timedelta(resolve_hours, unit="h")
        open_ticket = resolved > end
        frames.append(pd.DataFrame({
            "client_id": client.client_id,
            "priority": priority,
            "category": rng.choice(TICKET_CATEGORIES, n),
            "created_at": created.floor("s"),
            "first_response_at": (created + pd.to_timedelta(response_hours, unit="h")).floor("s"),
            "resolved_at": pd.Series(resolved.floor("s")).where(~open_ticket),
            "sla_response_met": np.where(response_met, "true", "false"),
            "sla_resolution_met": pd.Series(np.where(rng.random(n) >= miss_rate, "true", "false")).where(~open_ticket),
            "reopen_count": rng.poisson(np.where(troubled, 0.6, 0.1)),
        }))
    tickets = pd.concat(frames, ignore_index=True).sort_values("created_at", kind="stable")
    tickets.insert(0, "ticket_id", [f"T{i:07d}" for i in range(1, len(tickets) + 1)])
    return tickets.reset_index(drop=True)


def _saas(rng, scale: Scale, apps: pd.DataFrame, as_of: date):
    employees = [f"E{i:05d}" for i in range(1, scale.employees + 1)]
    subs, assignments, inactive = [], [], []
    for i, app in enumerate(apps.itertuples()):
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        share = rng.uniform(0.15, 0.9)
        holders = list(rng.choice(employees, size=max(3, int(len(employees) * share)), replace=False))
        purchased = int(len(holders) * rng.uniform(1.0, 1.35))
        renewal = as_of + timedelta(days=int(rng.integers(10, 360)))
        subs.append({
            "subscription_id": f"SUB{i:04d}",
            "application_id": app.application_id,
            "plan": rng.choice(["Standard", "Business", "Enterprise"]),
            "seats_purchased": purchased,
            "price_per_seat_month": APPS[i][3],
            "billing_period": rng.choice(["monthly", "annual"]),
            "start_date": renewal - timedelta(days=365 * int(rng.integers(1, 4))),
            "renewal_date": renewal,
            "auto_renew": rng.choice(["true", "false"]),
            "department": department,
        })
        for employee in holders:
            assigned = as_of - timedelta(days=int(rng.integers(1, 700)))
            assignments.append({"subscription_id": f"SUB{i:04d}", "employee_id": employee,
                                "assigned_date": assigned, "unassigned_date": None})
    assignments = pd.DataFrame(assignments)
    # About 15% of seat holders never use their application: the licences to reclaim.
    idle = rng.random(len(assignments)) < 0.15
    inactive = assignments.loc[idle, ["subscription_id", "employee_id"]].to_dict("records")
    app_of = {s["subscription_id"]: s["application_id"] for s in subs}
    days = pd.date_range(end=pd.Timestamp(as_of) - pd.Timedelta(days=1), periods=scale.usage_days, freq="D")
    active_holders = assignments.loc[~idle]
    n_holders, n_days = len(active_holders), len(days)
    weekday = np.tile((days.dayofweek < 5), n_holders)
    active = rng.random(n_holders * n_days) < np.where(weekday, 0.85, 0.15)
    usage = pd.DataFrame({
        "usage_date": np.tile(days.date, n_holders),
        "employee_id": np.repeat(active_holders["employee_id"].to_numpy(), n_days),
        "application_id": np.repeat(active_holders["subscription_id"].map(app_of).to_numpy(), n_days),
        "active": np.where(active, "true", "false"),
        "activity_count": np.where(active, rng.poisson(12, n_holders * n_days), 0),
    }).drop_duplicates(["usage_date", "employee_id", "application_id"])
    return pd.DataFrame(subs), assignments, usage, inactive


def _focus_costs(rng, scale: Scale, as_of: date):
    days = pd.date_range(end=pd.Timestamp(as_of) - pd.Timedelta(days=1), periods=max(scale.usage_days, 120), freq="D")
    services = [("AWS", "Amazon EC2", "Compute"), ("AWS", "Amazon S3", "Storage"),
                ("Microsoft", "Azure SQL Database", "Databases"), ("Google Cloud", "BigQuery", "Analytics")]
    rows = []
    anomalies = []
    spike_day = days[-15]
    shift_from = days[-35]
    for d_i, department in enumerate(DEPARTMENTS):
        for s_i, (provider, service, category) in enumerate(services):
            base = 40 + 25 * d_i + 15 * s_i
            weekly = np.where(days.dayofweek < 5, 1.0, 0.6)
            cost = base * weekly * rng.normal(1.0, 0.05, len(days))
            if department == "Engineering" and service == "Amazon EC2":
                cost[days == spike_day] *= 6  # a runaway workload for one day
            if department == "Marketing" and service == "BigQuery":
                cost[days >= shift_from] *= 1.8  # a new pipeline that stays
            rows.append(pd.DataFrame({
                "ChargePeriodStart": days,
                "ChargePeriodEnd": days + pd.Timedelta(days=1),
                "BilledCost": cost.round(4),
                "EffectiveCost": (cost * 0.97).round(4),
                "BillingCurrency": "USD",
                "ChargeCategory": "Usage",
                "ProviderName": provider,
                "ServiceName": service,
                "ServiceCategory": category,
                "SubAccountId": f"acct-{department.lower()}",
                "ResourceId": f"{service.lower().replace(' ', '-')}-{department.lower()}",
                "Tags": json.dumps({"department": department}),
            }))
    anomalies.append({"department": "Engineering", "date": spike_day.date().isoformat(), "kind": "spike"})
    anomalies.append({"department": "Marketing", "date": shift_from.date().isoformat(), "kind": "level_shift"})
    return pd.concat(rows, ignore_index=True), anomalies


def write_to_landing(store: ObjectStore, scale_name: str, as_of: date, seed: int = 7) -> dict[str, int]:
    """Generate every entity and put one CSV per entity into the landing zone; return row counts."""
    frames, truth = generate(SCALES[scale_name], as_of, seed)
    counts = {}
    with TemporaryDirectory(prefix="pulseops-demo-") as tmp:
        for name, frame in frames.items():
            source, entity = name.split("/")
            path = Path(tmp) / f"{entity}_{as_of.isoformat()}.csv"
            frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
            store.put_file(path, f"landing/{source}/{entity}/{path.name}")
            counts[name] = len(frame)
    store.put_bytes("demo_truth/ground_truth.json", json.dumps(truth, indent=2, default=str).encode())
    return counts
