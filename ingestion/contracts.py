"""One declared contract per source entity: columns, types, keys, allowed values, ranges.

The contract drives the validation suite, the typed read of a file and the raw table's DDL,
so a change to a source is one edit here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Warehouse type of each contract type.
PG_TYPES = {
    "text": "text",
    "integer": "bigint",
    "numeric": "numeric(18,4)",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}


def snake_case(name: str) -> str:
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return name.strip("_").lower()


@dataclass(frozen=True)
class Column:
    source_name: str  # header as the source system exports it
    type: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None

    @property
    def name(self) -> str:
        return snake_case(self.source_name)


@dataclass(frozen=True)
class Contract:
    source: str
    entity: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # warehouse (snake_case) column names
    description: str = ""
    expected_cadence_hours: int = 24
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.source}__{self.entity}"

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    @property
    def landing_prefix(self) -> str:
        return f"landing/{self.source}/{self.entity}/"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(source_name, type_, required=True, allowed=None, minimum=None) -> Column:
    return Column(source_name, type_, required, tuple(allowed) if allowed else None, minimum)


SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
AGREEMENT_TYPES = ("managed_services", "backup", "security", "m365_resale", "block_hours")
PRIORITIES = ("P1", "P2", "P3", "P4")

CONTRACTS: tuple[Contract, ...] = (
    Contract("psa", "clients", (
        _c("client_id", "text"),
        _c("client_name", "text"),
        _c("industry", "text"),
        _c("segment", "text", allowed=SEGMENTS),
        _c("region", "text"),
        _c("onboarded_date", "date"),
        _c("employee_count", "integer", minimum=0),
    ), key=("client_id",), description="MSP clients from the PSA."),
    Contract("psa", "agreements", (
        _c("agreement_id", "text"),
        _c("client_id", "text"),
        _c("agreement_type", "text", allowed=AGREEMENT_TYPES),
        _c("start_date", "date"),
        _c("end_date", "date", required=False),
        _c("monthly_amount", "numeric", minimum=0),
        _c("units", "integer", minimum=0),
        _c("unit_price", "numeric", minimum=0),
        _c("cancelled", "boolean"),
        _c("cancelled_date", "date", required=False),
        _c("cancellation_reason", "text", required=False),
    ), key=("agreement_id",), description="Service agreements (contracts) billed monthly."),
    Contract("psa", "tickets", (
        _c("ticket_id", "text"),
        _c("client_id", "text"),
        _c("priority", "text", allowed=PRIORITIES),
        _c("category", "text"),
        _c("created_at", "timestamp"),
        _c("first_response_at", "timestamp", required=False),
        _c("resolved_at", "timestamp", required=False),
        _c("sla_response_met", "boolean"),
        _c("sla_resolution_met", "boolean", required=False),
        _c("reopen_count", "integer", minimum=0),
    ), key=("ticket_id",), description="Service tickets with SLA flags."),
    Contract("saas", "applications", (
        _c("application_id", "text"),
        _c("application_name", "text"),
        _c("vendor", "text"),
        _c("category", "text"),
        _c("sanctioned", "boolean"),
    ), key=("application_id",), description="Application catalogue."),
    Contract("saas", "subscriptions", (
        _c("subscription_id", "text"),
        _c("application_id", "text"),
        _c("plan", "text"),
        _c("seats_purchased", "integer", minimum=0),
        _c("price_per_seat_month", "numeric", minimum=0),
        _c("billing_period", "text", allowed=("monthly", "annual")),
        _c("start_date", "date"),
        _c("renewal_date", "date"),
        _c("auto_renew", "boolean"),
        _c("department", "text"),
    ), key=("subscription_id",), description="SaaS subscriptions and their seat counts."),
    Contract("saas", "licence_assignments", (
        _c("subscription_id", "text"),
        _c("employee_id", "text"),
        _c("assigned_date", "date"),
        _c("unassigned_date", "date", required=False),
    ), key=("subscription_id", "employee_id", "assigned_date"),
        description="Which employee holds a seat of which subscription, and since when."),
    Contract("saas", "daily_usage", (
        _c("usage_date", "date"),
        _c("employee_id", "text"),
        _c("application_id", "text"),
        _c("active", "boolean"),
        _c("activity_count", "integer", minimum=0),
    ), key=("usage_date", "employee_id", "application_id"),
        description="Daily activity of each user in each application."),
    Contract("focus", "costs", (
        _c("ChargePeriodStart", "timestamp"),
        _c("ChargePeriodEnd", "timestamp"),
        _c("BilledCost", "numeric"),
        _c("EffectiveCost", "numeric"),
        _c("BillingCurrency", "text"),
        _c("ChargeCategory", "text", allowed=("Usage", "Purchase", "Tax", "Credit", "Adjustment")),
        _c("ProviderName", "text"),
        _c("ServiceName", "text"),
        _c("ServiceCategory", "text"),
        _c("SubAccountId", "text"),
        _c("ResourceId", "text"),
        _c("Tags", "text", required=False),
    ), key=("charge_period_start", "sub_account_id", "service_name", "resource_id"),
        description="FinOps FOCUS 1.x cost and usage rows (daily)."),
)

BY_NAME = {c.name: c for c in CONTRACTS}


def contract_for_key(object_key: str) -> Contract | None:
    """The contract of a landing object key `landing/<source>/<entity>/<file>`, if any."""
    parts = object_key.split("/")
    if len(parts) < 4 or parts[0] != "landing":
        return None
    return BY_NAME.get(f"{parts[1]}__{parts[2]}")
