"""What deserves an alert, read from the tables the dashboards show, and each incident's lifecycle.

Every figure comes from an existing mart or reporting model (the churn watchlist, the spend
anomalies, the forecast against budget, the renewal calendars, data health), so an alert says
exactly what its dashboard says. Two sorts of incident:

- a *condition* (a client at high churn risk, a department's month likely over budget, a stale
  source) opens when it starts, stays open while it lasts and is resolved when it is over; its key
  is the subject and the day the condition began, so one that ends and starts again later is a new
  incident, while one seen again on the next run is the same;
- an *event* (a spend anomaly, a renewal inside its window, a quarantined file, a failed run) is
  keyed by what it is about and is never resolved.

`alerts.incidents` keeps them; `record_incidents` updates it in one transaction per run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

INCIDENTS = "alerts.incidents"
CREATE_INCIDENTS = f"""
create schema if not exists alerts;
create table if not exists {INCIDENTS} (
    kind text not null,
    incident_key text not null,
    subject text not null,
    title text not null,
    facts jsonb not null,
    figures jsonb not null,
    dashboard text not null,
    link text,
    opened_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    resolved_at timestamptz,
    primary key (kind, incident_key)
);
create unique index if not exists incidents_one_open_per_subject on {INCIDENTS} (kind, subject)
    where resolved_at is null;
"""

# Superset dashboards (slugs of superset_config/assets/dashboards) that explain each kind.
DASHBOARDS = {
    "churn_risk": "msp-portfolio",
    "agreement_renewal": "msp-portfolio",
    "spend_anomaly": "it-spend",
    "budget_outlook": "it-spend",
    "subscription_renewal": "it-spend",
    "stale_source": "data-health",
    "quarantined_file": "data-health",
    "failed_run": "data-health",
}
CONDITIONS = ("churn_risk", "budget_outlook", "stale_source")
# Forecast months an outlook alert looks at: the coming quarter, where a budget can still be acted on.
OUTLOOK_MONTHS = 3


@dataclass
class Incident:
    kind: str
    subject: str
    title: str
    facts: list  # [label, text] pairs, in the order a reader wants them
    figures: dict = field(default_factory=dict)  # numbers a route's thresholds compare
    since: str = ""  # conditions: the data day it was first seen (part of the key)
    link: str | None = None  # a link beyond the dashboard (the Dagster run of a failed run)
    key: str = ""
    resolved: bool = False

    def __post_init__(self):
        if not self.key:
            self.key = f"{self.subject}@{self.since}" if self.kind in CONDITIONS else self.subject

    @property
    def dashboard(self) -> str:
        return DASHBOARDS[self.kind]


def money(value) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def percent(value) -> str:
    return "-" if value is None else f"{100 * float(value):.0f}%"


def _exists(conn, *tables: str) -> bool:
    return all(conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is not None for table in tables)


def _rows(conn, sql: str, params=()) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def churn_risk(conn, lookback_days: int, renewal_days: int) -> list[Incident]:
    rows = _rows(
        conn,
        """
        select watch.client_id, watch.client_name, watch.segment, watch.churn_probability::float as probability,
               watch.mrr_at_risk::float as mrr_at_risk, watch.current_mrr::float as current_mrr,
               watch.top_drivers, calendar.as_of_date
        from reporting.churn_watchlist as watch
        cross join intermediate.int_psa__calendar as calendar
        where watch.risk_band = 'high' and watch.is_active
        order by watch.mrr_at_risk desc""",
    )
    return [
        Incident(
            "churn_risk",
            row["client_id"],
            f"{row['client_name']} turned high churn risk",
            [
                ["Client", f"{row['client_name']} ({row['client_id']}, {row['segment']})"],
                ["Churn probability (90 days)", percent(row["probability"])],
                ["MRR at risk", money(row["mrr_at_risk"])],
                ["Current MRR", money(row["current_mrr"])],
                ["Top drivers", row["top_drivers"] or "-"],
            ],
            {"churn_probability": row["probability"], "mrr_at_risk": row["mrr_at_risk"]},
            since=str(row["as_of_date"]),
        )
        for row in rows
    ]


def spend_anomalies(conn, lookback_days: int, renewal_days: int) -> list[Incident]:
    rows = _rows(
        conn,
        """
        select anomalies.scope, anomalies.department, anomalies.kind, anomalies.charge_date::date as started,
               anomalies.peak_time::date as peak, anomalies.value::float as value,
               anomalies.expected::float as expected, anomalies.change::float as change, anomalies.driver
        from ml.spend_anomalies as anomalies
        where anomalies.charge_date >= (select max(charge_date) from marts.department_daily_spend) - %s
        order by anomalies.charge_date, anomalies.scope, anomalies.department""",
        (lookback_days,),
    )
    incidents = []
    for row in rows:
        series = row["department"] if row["scope"] != "total" else "Total spend"
        kind = str(row["kind"]).replace("_", " ")
        facts = [
            ["Series", series],
            ["Kind", kind],
            ["Started", str(row["started"])],
            ["Peak day", str(row["peak"])],
            ["Spend on the peak day", money(row["value"])],
            ["Expected", money(row["expected"])],
            ["Change", percent(row["change"])],
        ]
        if row["driver"]:
            facts.append(["Driven by", row["driver"]])
        incidents.append(
            Incident(
                "spend_anomaly",
                f"{row['scope']}|{row['department'] or 'total'}|{row['started']}",
                f"Spend {kind}: {series} from {row['started']}",
                facts,
                {"deviation": abs(row["value"] - row["expected"]), "change": abs(row["change"] or 0)},
            )
        )
    return incidents


def budget_outlook(conn, lookback_days: int, renewal_days: int) -> list[Incident]:
    rows = _rows(
        conn,
        """
        select forecast.department, forecast.month, forecast.budget_outlook,
               forecast.total_forecast::float as forecast, forecast.total_lower::float as lower,
               forecast.total_upper::float as upper, forecast.budget::float as budget,
               forecast.forecast_variance::float as variance,
               (select max(charge_date) from marts.department_daily_spend) as as_of_date
        from reporting.department_spend_forecast as forecast
        where forecast.budget_outlook in ('likely over', 'over budget') and forecast.months_ahead <= %s
        order by forecast.department, forecast.month""",
        (OUTLOOK_MONTHS,),
    )
    return [
        Incident(
            "budget_outlook",
            f"{row['department']}|{row['month']:%Y-%m}",
            f"{row['department']} is {row['budget_outlook']} in {row['month']:%B %Y}",
            [
                ["Department", row["department"]],
                ["Month", f"{row['month']:%Y-%m}"],
                ["Outlook", row["budget_outlook"]],
                ["Forecast spend", money(row["forecast"])],
                ["Forecast interval", f"{money(row['lower'])} to {money(row['upper'])}"],
                ["Budget", money(row["budget"])],
                ["Over budget by", money(row["variance"])],
            ],
            {"variance": row["variance"], "forecast": row["forecast"]},
            since=str(row["as_of_date"]),
        )
        for row in rows
    ]


def agreement_renewals(conn, lookback_days: int, renewal_days: int) -> list[Incident]:
    rows = _rows(
        conn,
        """
        select agreement_id, client_id, client_name, agreement_type, renewal_date, days_to_renewal,
               monthly_amount::float as monthly_amount, annual_value::float as annual_value,
               gross_margin_pct::float as gross_margin_pct
        from marts.agreement_renewals where days_to_renewal between 0 and %s
        order by renewal_date, agreement_id""",
        (renewal_days,),
    )
    return [
        Incident(
            "agreement_renewal",
            f"{row['agreement_id']}@{row['renewal_date']}",
            f"{row['client_name']}: {row['agreement_type'].replace('_', ' ')} renews in {row['days_to_renewal']} days",
            [
                ["Client", f"{row['client_name']} ({row['client_id']})"],
                ["Agreement", row["agreement_id"]],
                ["Service", row["agreement_type"].replace("_", " ")],
                ["Renewal date", str(row["renewal_date"])],
                ["Days to renewal", str(row["days_to_renewal"])],
                ["Monthly amount", money(row["monthly_amount"])],
                ["Annual value", money(row["annual_value"])],
                ["Gross margin", "-" if row["gross_margin_pct"] is None else f"{row['gross_margin_pct']:.1f}%"],
            ],
            {"days_to_renewal": row["days_to_renewal"], "annual_value": row["annual_value"]},
        )
        for row in rows
    ]


def subscription_renewals(conn, lookback_days: int, renewal_days: int) -> list[Incident]:
    rows = _rows(
        conn,
        """
        select subscription_id, application_name, vendor, department, plan, renewal_date, days_to_renewal,
               auto_renew, seats_purchased, recommended_seats, monthly_saving::float as monthly_saving,
               (seats_purchased * price_per_seat_month * 12)::float as annual_cost
        from marts.subscription_renewals where days_to_renewal between 0 and %s
        order by renewal_date, subscription_id""",
        (renewal_days,),
    )
    return [
        Incident(
            "subscription_renewal",
            f"{row['subscription_id']}@{row['renewal_date']}",
            f"{row['application_name']} ({row['department']}) renews in {row['days_to_renewal']} days",
            [
                ["Subscription", f"{row['application_name']} {row['plan']} ({row['subscription_id']})"],
                ["Vendor", row["vendor"]],
                ["Department", row["department"]],
                ["Renewal date", str(row["renewal_date"])],
                ["Days to renewal", str(row["days_to_renewal"])],
                ["Auto-renew", "yes" if row["auto_renew"] else "no"],
                ["Seats purchased / right-sized", f"{row['seats_purchased']} / {row['recommended_seats']}"],
                ["Annual cost", money(row["annual_cost"])],
                ["Saving if right-sized (month)", money(row["monthly_saving"])],
            ],
            {
                "days_to_renewal": row["days_to_renewal"],
                "annual_cost": row["annual_cost"],
                "monthly_saving": row["monthly_saving"],
            },
        )
        for row in rows
    ]


def stale_sources(conn, lookback_days: int, renewal_days: int) -> list[Incident]:
    rows = _rows(
        conn,
        """
        select source_entity, last_loaded_at, hours_since_last_load::float as hours, expected_cadence_hours
        from reporting.data_health_sources where freshness_status = 'stale' order by source_entity""",
    )
    return [
        Incident(
            "stale_source",
            row["source_entity"],
            f"Source {row['source_entity']} is stale",
            [
                ["Source", row["source_entity"]],
                ["Last file loaded", f"{row['last_loaded_at']:%Y-%m-%d %H:%M} UTC"],
                ["Hours since", f"{row['hours']:.1f}"],
                ["Expected within (hours)", str(row["expected_cadence_hours"])],
            ],
            {"hours_since_last_load": row["hours"]},
            since=row["last_loaded_at"].isoformat(),
        )
        for row in rows
    ]


def quarantined_files(conn, lookback_days: int, renewal_days: int) -> list[Incident]:
    rows = _rows(
        conn,
        """
        select file_key, source_entity, rows_in, error_summary, report_key, loaded_at
        from reporting.data_health_files
        where is_quarantined and loaded_at >= now() - make_interval(days => %s)
        order by loaded_at, file_key""",
        (lookback_days,),
    )
    return [
        Incident(
            "quarantined_file",
            f"{row['file_key']}@{row['loaded_at'].isoformat()}",
            f"File quarantined: {row['file_key'].rsplit('/', 1)[-1]}",
            [
                ["File", row["file_key"]],
                ["Source", row["source_entity"]],
                ["Rows in file", str(row["rows_in"])],
                ["Why", row["error_summary"] or "-"],
                ["Report", row["report_key"] or "-"],
                ["Arrived", f"{row['loaded_at']:%Y-%m-%d %H:%M} UTC"],
            ],
            {"rows_in": row["rows_in"]},
        )
        for row in rows
    ]


# Each detector with the tables it reads: a kind whose tables do not exist yet is skipped, and
# its open incidents are left as they are (a missing table says nothing about them).
DETECTORS = {
    "churn_risk": (churn_risk, ("reporting.churn_watchlist", "intermediate.int_psa__calendar")),
    "spend_anomaly": (spend_anomalies, ("ml.spend_anomalies", "marts.department_daily_spend")),
    "budget_outlook": (budget_outlook, ("reporting.department_spend_forecast", "marts.department_daily_spend")),
    "agreement_renewal": (agreement_renewals, ("marts.agreement_renewals",)),
    "subscription_renewal": (subscription_renewals, ("marts.subscription_renewals",)),
    "stale_source": (stale_sources, ("reporting.data_health_sources",)),
    "quarantined_file": (quarantined_files, ("reporting.data_health_files",)),
}


def detect(conn, lookback_days: int, renewal_days: int) -> dict[str, list[Incident]]:
    """The incidents each kind's tables show now, for the kinds whose tables exist."""
    found = {}
    for kind, (detector, tables) in DETECTORS.items():
        if _exists(conn, *tables):
            found[kind] = detector(conn, lookback_days, renewal_days)
    conn.rollback()
    return found


def _jsonable(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _upsert(conn, incident: Incident) -> None:
    conn.execute(
        f"""
        insert into {INCIDENTS} (kind, incident_key, subject, title, facts, figures, dashboard, link)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (kind, incident_key) do update set
            title = excluded.title, facts = excluded.facts, figures = excluded.figures, link = excluded.link,
            last_seen_at = now(), resolved_at = null""",
        (
            incident.kind,
            incident.key,
            incident.subject,
            incident.title,
            json.dumps(incident.facts),
            json.dumps({k: _jsonable(v) for k, v in incident.figures.items()}),
            incident.dashboard,
            incident.link,
        ),
    )


def record_incidents(conn, found: dict[str, list[Incident]]) -> None:
    """Open what is new, refresh what is still there, resolve the conditions that are over.

    A condition still open keeps the key it opened with, whatever day it is seen again."""
    conn.execute(CREATE_INCIDENTS)
    for kind, incidents in found.items():
        if kind in CONDITIONS:
            open_keys = dict(
                conn.execute(
                    f"select subject, incident_key from {INCIDENTS} where kind = %s and resolved_at is null", (kind,)
                ).fetchall()
            )
            for incident in incidents:
                incident.key = open_keys.get(incident.subject, incident.key)
            current = [incident.subject for incident in incidents]
            conn.execute(
                f"update {INCIDENTS} set resolved_at = now() "
                "where kind = %s and resolved_at is null and not (subject = any(%s::text[]))",
                (kind, current),
            )
        for incident in incidents:
            _upsert(conn, incident)


def record_incident(conn, incident: Incident) -> None:
    """One event incident (a failed run), recorded once."""
    conn.execute(CREATE_INCIDENTS)
    _upsert(conn, incident)


def resolve_incident(conn, kind: str, key: str) -> Incident | None:
    """Resolve one open incident (a failed run whose re-execution succeeded); None if none was open."""
    conn.execute(CREATE_INCIDENTS)
    rows = _rows(
        conn,
        f"""
        update {INCIDENTS} set resolved_at = now()
        where kind = %s and incident_key = %s and resolved_at is null
        returning kind, incident_key, subject, title, facts, figures, link""",
        (kind, key),
    )
    return (
        Incident(
            rows[0]["kind"],
            rows[0]["subject"],
            rows[0]["title"],
            rows[0]["facts"],
            rows[0]["figures"],
            link=rows[0]["link"],
            key=rows[0]["incident_key"],
            resolved=True,
        )
        if rows
        else None
    )


def deliverable(conn, seen_since: datetime, lookback_days: int) -> list[Incident]:
    """What may still be announced: incidents seen by this run (or, for failed runs, recorded within
    the lookback), and those resolved within the lookback. Announced ones are filtered by the ledger."""
    rows = _rows(
        conn,
        f"""
        select kind, incident_key, subject, title, facts, figures, link, resolved_at is not null as resolved
        from {INCIDENTS}
        where (resolved_at is null and (last_seen_at >= %s
                                        or (kind = 'failed_run' and opened_at >= now() - make_interval(days => %s))))
           or resolved_at >= now() - make_interval(days => %s)
        order by kind, opened_at, incident_key""",
        (seen_since, lookback_days, lookback_days),
    )
    return [
        Incident(
            row["kind"],
            row["subject"],
            row["title"],
            row["facts"],
            row["figures"],
            link=row["link"],
            key=row["incident_key"],
            resolved=row["resolved"],
        )
        for row in rows
    ]
