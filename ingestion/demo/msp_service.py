"""Service delivery: tickets with SLA outcomes, the technician time behind them, and the CSAT
surveys that follow. A client's `trouble` (see ClientPlan) raises P1s, SLA misses and reopens and
lowers CSAT; a planted service gap shows up as tickets asking for that service."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.demo.msp_agreements import AgreementFacts
from ingestion.demo.msp_clients import ClientPlan
from ingestion.demo.timeline import Timeline, ids, labels

CATEGORIES = ("Password reset", "Email", "Network", "Hardware", "Software", "Security", "Backup")
CATEGORY_P = (0.2, 0.18, 0.14, 0.16, 0.19, 0.07, 0.06)
PRIORITIES = np.array(["P1", "P2", "P3", "P4"])
RESPONSE_TARGET_H = np.array([1.0, 4.0, 8.0, 24.0])
RESOLUTION_TARGET_H = np.array([8.0, 24.0, 72.0, 120.0])
WORK_HOURS_MEAN = np.array([3.5, 1.8, 1.0, 0.6])  # technician hours per ticket by priority
TICKETS_PER_EMPLOYEE_MONTH = 0.25
DAYS_PER_MONTH = 30.44


@dataclass
class TicketFacts:
    client: np.ndarray
    created: np.ndarray  # day numbers
    first_response: np.ndarray  # NaN if not answered by the export
    resolved: np.ndarray  # NaN while open
    priority: np.ndarray  # 0 = P1
    resolution_met: np.ndarray
    trouble: np.ndarray
    ticket_ids: np.ndarray


def _placed(rng, client, low, high) -> tuple[np.ndarray, np.ndarray]:
    return client, low + rng.random(len(client)) * np.maximum(high - low, 0)


def _ticket_arrivals(rng, plan: ClientPlan, end: float):
    """(client, day, forced category or -1) for the everyday load plus the planted extra tickets."""
    rate = plan.employees * TICKETS_PER_EMPLOYEE_MONTH / DAYS_PER_MONTH
    start, stop = plan.window_start, plan.window_end
    clients = np.arange(plan.n)
    parts = []
    base = np.repeat(clients, rng.poisson(rate * np.maximum(stop - start, 0)))
    parts.append((*_placed(rng, base, start[base], stop[base]), -1))
    # A souring client calls more, more so as the end nears (density rising towards the churn day).
    souring = np.repeat(clients, np.where(plan.declines, rng.poisson(rate * 90 * 0.6), 0))
    day = plan.churn_day[souring] - 90 * (1 - np.sqrt(rng.random(len(souring))))
    parts.append((souring, day, -1))
    rough = np.repeat(clients, np.where(np.isnan(plan.patch_day), 0, rng.poisson(rate * 60 * 0.3)))
    parts.append((rough, plan.patch_day[rough] + rng.uniform(-30, 30, len(rough)), -1))
    # Demand for a missing service: restore requests without backup, phishing without security.
    gap = np.repeat(clients, np.where(plan.gap_service != "", 4 + rng.poisson(rate * 180 * 0.12), 0))
    category = np.where(plan.gap_service[gap] == "backup", CATEGORIES.index("Backup"), CATEGORIES.index("Security"))
    parts.append((gap, end - 180 * rng.random(len(gap)), category))
    client = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[1] for p in parts])
    forced = np.concatenate([np.broadcast_to(p[2], len(p[0])) for p in parts])
    inside = (day >= start[client]) & (day < stop[client])
    return client[inside], day[inside], forced[inside]


def make_tickets(rng, plan: ClientPlan, timeline: Timeline) -> tuple[pd.DataFrame, TicketFacts]:
    end = timeline.end
    client, created, forced = _ticket_arrivals(rng, plan, end)
    order = np.argsort(created, kind="stable")
    client, created, forced = client[order], created[order], forced[order]
    n = len(client)
    trouble = plan.trouble(client, created)

    p1 = 0.04 + 0.35 * trouble
    u = rng.random(n)
    rest = np.clip((u - p1) / (1 - p1), 0, 1 - 1e-9)
    priority = np.where(u < p1, 0, 1 + np.searchsorted([0.2, 0.7], rest, side="right"))
    category = np.where(forced >= 0, forced, rng.choice(len(CATEGORIES), n, p=CATEGORY_P))

    response_met = rng.random(n) >= 0.06 + 0.45 * trouble
    response_h = RESPONSE_TARGET_H[priority] * np.where(
        response_met, rng.uniform(0.05, 0.9, n), rng.uniform(1.1, 5.0, n)
    )
    resolution_h = RESOLUTION_TARGET_H[priority] * np.where(
        rng.random(n) >= 0.08 + 0.45 * trouble, rng.uniform(0.1, 0.95, n), rng.uniform(1.05, 4.0, n)
    )
    resolution_h = np.maximum(resolution_h, response_h + rng.uniform(0.1, 1.0, n))
    resolution_met = resolution_h <= RESOLUTION_TARGET_H[priority]
    first_response = created + response_h / 24
    resolved = created + resolution_h / 24
    first_response = np.where(first_response < end, first_response, np.nan)
    open_ = resolved >= end
    resolved = np.where(open_, np.nan, resolved)

    ticket_ids = ids("T", np.arange(1, n + 1), 7)
    frame = pd.DataFrame(
        {
            "ticket_id": ticket_ids,
            "client_id": plan.ids[client],
            "priority": PRIORITIES[priority],
            "category": np.array(CATEGORIES)[category],
            "created_at": timeline.moments(created),
            "first_response_at": timeline.moments(first_response),
            "resolved_at": timeline.moments(resolved),
            "sla_response_met": response_met,
            "sla_resolution_met": pd.array(np.where(open_, None, resolution_met), dtype="boolean"),
            "reopen_count": rng.poisson(np.where(open_, 0.02, 0.08 + 0.5 * trouble)),
        }
    )
    facts = TicketFacts(client, created, first_response, resolved, priority, resolution_met, trouble, ticket_ids)
    return frame, facts


def make_time_entries(
    rng, plan: ClientPlan, tickets: TicketFacts, agreements: AgreementFacts, timeline: Timeline
) -> pd.DataFrame:
    """Reactive time on tickets plus monthly proactive maintenance. Time counts against a block-hours
    agreement (billable) while the client has one, otherwise against managed services."""
    end = timeline.end
    technicians = max(4, plan.n // 5)
    primary = rng.integers(0, technicians, plan.n)
    cost_rate = np.round(rng.uniform(32, 68, technicians), 2)

    entries_per_ticket = 1 + rng.poisson(0.25 + 0.6 * (tickets.priority == 0))
    ticket = np.repeat(np.arange(len(tickets.client)), entries_per_ticket)
    total = rng.gamma(2.0, WORK_HOURS_MEAN[tickets.priority] / 2) * (1 + 0.5 * tickets.trouble)
    hours = (total / entries_per_ticket)[ticket]
    began = np.nan_to_num(tickets.first_response, nan=tickets.created)[ticket]
    finished = np.nan_to_num(tickets.resolved, nan=end)[ticket]
    started = began + rng.random(len(ticket)) * np.maximum(finished - began, 0)
    reactive = pd.DataFrame({"ticket": ticket, "client": tickets.client[ticket], "started": started, "hours": hours})

    maintenance = _maintenance(rng, plan, timeline)
    work = pd.concat([reactive, maintenance], ignore_index=True)
    work = work[work["started"] < end].sort_values("started", kind="stable")
    k = len(work)
    client = work["client"].to_numpy()
    ticket = work["ticket"].to_numpy()
    started = work["started"].to_numpy()
    on_ticket = ticket >= 0

    managed, _, _ = agreements.of_service(plan.n, "managed_services")
    block, block_start, block_stop = agreements.of_service(plan.n, "block_hours")
    in_block = (block[client] != "") & (block_start[client] <= started) & ~(block_stop[client] <= started)
    billable = on_ticket & (in_block | (rng.random(k) < 0.07))
    technician = np.where(rng.random(k) < 0.7, primary[client], rng.integers(0, technicians, k))
    return pd.DataFrame(
        {
            "time_entry_id": ids("TE", np.arange(1, k + 1), 8),
            "ticket_id": np.where(on_ticket, tickets.ticket_ids[np.maximum(ticket, 0)], None),
            "client_id": labels(plan.ids, client),
            "agreement_id": np.where(on_ticket & in_block, block[client], managed[client]),
            "technician_id": labels(ids("TECH", np.arange(1, technicians + 1), 3), technician),
            "started_at": timeline.moments(started),
            "hours": np.clip(np.round(work["hours"].to_numpy() * 4) / 4, 0.25, 12.0),
            "billable": billable,
            "cost_rate": cost_rate[technician],
        }
    )


def _maintenance(rng, plan: ClientPlan, timeline: Timeline) -> pd.DataFrame:
    """Patching and reviews, a few entries per client and month, sized by the estate."""
    month_start = timeline.month_starts()
    client, month = np.nonzero(
        (month_start[None, :] + 28 > plan.window_start[:, None]) & (month_start[None, :] < plan.window_end[:, None])
    )
    per_month = 1 + rng.poisson(1.0, len(client))
    entry = np.repeat(np.arange(len(client)), per_month)
    client, month = client[entry], month[entry]
    hours = rng.gamma(2.0, (1 + 0.05 * plan.endpoints[client]) / per_month[entry] / 2)
    started = month_start[month] + rng.integers(0, 28, len(entry)) + rng.uniform(9, 17, len(entry)) / 24
    inside = (started >= plan.window_start[client]) & (started < plan.window_end[client])
    return pd.DataFrame({"ticket": -1, "client": client[inside], "started": started[inside], "hours": hours[inside]})


def make_csat(rng, plan: ClientPlan, tickets: TicketFacts, timeline: Timeline) -> pd.DataFrame:
    """About a quarter of resolved tickets get a survey answer; scores fall with the client's trouble
    and with a missed resolution target."""
    surveyed = ~np.isnan(tickets.resolved) & (rng.random(len(tickets.client)) < 0.22 + 0.1 * (tickets.priority == 0))
    ticket = np.flatnonzero(surveyed)
    responded = tickets.resolved[ticket] + rng.exponential(0.75, len(ticket))
    ticket, responded = ticket[responded < timeline.end], responded[responded < timeline.end]
    trouble = plan.trouble(tickets.client[ticket], responded)
    mean = 4.55 - 2.3 * trouble - 0.7 * ~tickets.resolution_met[ticket] - 0.2 * (tickets.priority[ticket] == 0)
    score = np.clip(np.round(mean + rng.normal(0, 0.6, len(ticket))), 1, 5).astype(int)
    order = np.argsort(responded, kind="stable")
    ticket, responded, score = ticket[order], responded[order], score[order]
    return pd.DataFrame(
        {
            "response_id": ids("CS", np.arange(1, len(ticket) + 1), 7),
            "client_id": plan.ids[tickets.client[ticket]],
            "ticket_id": tickets.ticket_ids[ticket],
            "responded_at": timeline.moments(responded),
            "score": score,
        }
    )
