"""Agreements (what each client buys, and when it stops) and the monthly invoices they raise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.demo.msp_clients import ClientPlan
from ingestion.demo.timeline import Timeline, ids

SERVICES = ("managed_services", "backup", "security", "m365_resale", "block_hours")
LIST_PRICE = np.array([95.0, 12.0, 18.0, 22.0, 150.0])  # per endpoint, device, user, seat, hour
UNIT_COST = np.array([4.0, 5.5, 7.0, 17.6, 0.0])  # tooling, storage, EDR licence, resold licence
ADOPTION = np.array([1.0, 0.75, 0.45, 0.55, 0.25])
REGULATED = ("Healthcare", "Finance", "Legal")  # buy security far more often
PAYMENT_TERMS = {"SMB": 30, "Mid-Market": 30, "Enterprise": 45}
ADD_ON_CANCEL_REASONS = ("Budget cuts", "No longer needed", "Moved to vendor direct")


@dataclass
class AgreementFacts:
    client: np.ndarray  # client index per agreement
    service: np.ndarray  # index into SERVICES
    start: np.ndarray  # day numbers
    stop: np.ndarray  # cancellation day, NaN while running
    agreement_ids: np.ndarray

    def of_service(self, n_clients: int, service: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per client: the agreement id of `service` ("" if none), its start and stop (NaN if none/running)."""
        wanted = self.service == SERVICES.index(service)
        agreement = np.full(n_clients, "", dtype=object)
        start = np.full(n_clients, np.nan)
        stop = np.full(n_clients, np.nan)
        agreement[self.client[wanted]] = self.agreement_ids[wanted]
        start[self.client[wanted]] = self.start[wanted]
        stop[self.client[wanted]] = self.stop[wanted]
        return agreement, start, stop


def make_agreements(rng, plan: ClientPlan, timeline: Timeline) -> tuple[pd.DataFrame, AgreementFacts, list[dict]]:
    n, end = plan.n, timeline.end
    probability = np.tile(ADOPTION, (n, 1))
    probability[np.isin(plan.industry, REGULATED), SERVICES.index("security")] = 0.85
    has = rng.random((n, len(SERVICES))) < probability
    for service in ("backup", "security"):
        has[plan.gap_service == service, SERVICES.index(service)] = False
    client, service = np.nonzero(has)
    m = len(client)
    onboarded = plan.onboarded[client]
    stop_by = plan.window_end[client]
    later = (service > 0) & (rng.random(m) < 0.4)  # add-ons sold some time after onboarding
    start = np.where(
        later,
        onboarded + 30 + rng.random(m) * np.maximum(stop_by - onboarded - 30, 1) * 0.8,
        onboarded + np.where(service > 0, rng.uniform(0, 30, m), 0),
    ).round()
    keep = start < stop_by - 14
    client, service, start, stop_by, m = client[keep], service[keep], start[keep], stop_by[keep], int(keep.sum())

    churned = ~np.isnan(plan.churn_day[client])
    # Churners drop add-ons in the weeks before they cancel managed services.
    churn_stop = np.where(
        service > 0, np.minimum(np.maximum(stop_by - rng.uniform(0, 60, m), start + 20), stop_by), stop_by
    ).round()
    dropped_add_on = ~churned & (service > 0) & (rng.random(m) < 0.05) & (start + 90 < end - 1)
    drop_day = (start + 90 + rng.random(m) * np.maximum(end - 1 - start - 90, 0)).round()
    stop = np.where(churned, churn_stop, np.where(dropped_add_on, drop_day, np.nan))
    reason = np.where(
        churned, plan.churn_reason[client], np.where(dropped_add_on, rng.choice(ADD_ON_CANCEL_REASONS, m), None)
    )

    units = _units(rng, plan, client, service)
    unit_price = np.round(LIST_PRICE[service] * rng.uniform(0.9, 1.08, m), 2)
    term_days = rng.choice([365, 730, 1095], m)
    # The current term's end: the first renewal after the export date (or the cancellation).
    terms_run = np.maximum(np.ceil((end - start) / term_days), 1)
    term_end = np.where(np.isnan(stop), start + terms_run * term_days, stop)

    order = np.lexsort((service, client, start))
    agreement_ids = ids("AG", np.arange(1, m + 1), 6)
    client, service, start, stop = client[order], service[order], start[order], stop[order]
    frame = pd.DataFrame(
        {
            "agreement_id": agreement_ids,
            "client_id": plan.ids[client],
            "agreement_type": np.array(SERVICES)[service],
            "start_date": timeline.dates(start),
            "end_date": timeline.dates(term_end[order]),
            "monthly_amount": np.round(units[order] * unit_price[order], 2),
            "units": units[order],
            "unit_price": unit_price[order],
            "cancelled": ~np.isnan(stop),
            "cancelled_date": timeline.dates(stop),
            "cancellation_reason": reason[order],
            "unit_cost": UNIT_COST[service],
        }
    )
    facts = AgreementFacts(client, service, start, stop, agreement_ids)
    return frame, facts, _upsell_gaps(plan, frame)


def _units(rng, plan: ClientPlan, client: np.ndarray, service: np.ndarray) -> np.ndarray:
    m = len(client)
    employees, endpoints = plan.employees[client], plan.endpoints[client]
    by_service = np.stack(
        [
            endpoints,
            np.maximum(1, np.round(endpoints * rng.uniform(0.2, 0.5, m))),
            employees,
            np.maximum(1, np.round(employees * rng.uniform(0.6, 1.0, m))),
            rng.choice([10, 20, 40], m),
        ]
    )
    return by_service[service, np.arange(m)].astype(int)


def _upsell_gaps(plan: ClientPlan, agreements: pd.DataFrame) -> list[dict]:
    """The planted gaps, priced at what the client would pay at list price."""
    gaps = []
    service_index = {s: i for i, s in enumerate(SERVICES)}
    for client in np.flatnonzero(plan.gap_service != ""):
        service = plan.gap_service[client]
        units = plan.endpoints[client] if service == "backup" else plan.employees[client]
        if service == "backup":
            units = max(1, round(units * 0.35))
        gaps.append(
            {
                "client_id": str(plan.ids[client]),
                "service": str(service),
                "demand_ticket_category": "Backup" if service == "backup" else "Security",
                "estimated_mrr": round(float(units * LIST_PRICE[service_index[service]]), 2),
            }
        )
    return gaps


def make_invoices(
    rng, plan: ClientPlan, agreements: pd.DataFrame, facts: AgreementFacts, timeline: Timeline
) -> pd.DataFrame:
    """One invoice per agreement and month it is billing at the month's end (the rule MRR uses),
    issued on the 1st or on the agreement's start; churners pay later and later as they sour."""
    month_start, month_end = timeline.month_starts(), timeline.month_ends()
    start = timeline.day_of(agreements["start_date"].to_numpy())
    stop = timeline.day_of(agreements["cancelled_date"].to_numpy())
    term_end = timeline.day_of(agreements["end_date"].to_numpy())
    agreement, month = np.nonzero(
        (start[:, None] <= month_end[None, :])
        & (np.isnan(stop)[:, None] | (stop[:, None] > month_end[None, :]))
        & (np.isnan(term_end)[:, None] | (term_end[:, None] > month_end[None, :]))
    )
    issued = np.maximum(month_start[month], start[agreement])
    keep = issued < timeline.end
    agreement, issued = agreement[keep], issued[keep]
    client = facts.client[agreement]
    k = len(agreement)

    terms = pd.Series(plan.segment[client]).map(PAYMENT_TERMS).to_numpy()
    trouble = plan.trouble(client, issued)
    late = rng.random(k) < 0.05 + 0.65 * trouble + 0.35 * plan.slow_payer[client]
    days_late = rng.gamma(2.0, 5 + 15 * trouble, k) + 1
    paid = issued + np.where(late, terms + days_late, terms * rng.uniform(0.15, 0.95, k)).round()
    paid = np.where(paid < timeline.end, paid, np.nan)

    order = np.lexsort((agreement, issued))
    return pd.DataFrame(
        {
            "invoice_id": ids("INV", np.arange(1, k + 1), 7),
            "client_id": plan.ids[client[order]],
            "agreement_id": agreements["agreement_id"].to_numpy()[agreement[order]],
            "issued_date": timeline.dates(issued[order]),
            "due_date": timeline.dates(issued[order] + terms[order]),
            "paid_date": timeline.dates(paid[order]),
            "amount": agreements["monthly_amount"].to_numpy()[agreement[order]],
        }
    )
