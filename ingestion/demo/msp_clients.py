"""The MSP's clients and the fate planned for each: churn after a decline, a rough patch that
passes, slow payment, a service gap with demand for it, devices supported but not billed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.demo.scales import Scale
from ingestion.demo.timeline import Timeline, ids

INDUSTRY_SUFFIXES = {
    "Healthcare": ("Family Clinic", "Dental", "Medical Group"),
    "Legal": ("Law Group", "Legal", "& Partners LLP"),
    "Manufacturing": ("Manufacturing", "Industries", "Fabrication"),
    "Retail": ("Outfitters", "Stores", "Market"),
    "Finance": ("Accounting", "Capital", "Wealth Advisors"),
    "Education": ("Academy", "Learning Center", "School"),
    "Construction": ("Builders", "Construction", "Contracting"),
}
INDUSTRIES = tuple(INDUSTRY_SUFFIXES)
NAME_PREFIXES = (
    "Acme",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Globex",
    "Initech",
    "Tailspin",
    "Wingtip",
    "Adventure Works",
    "Litware",
    "Proseware",
    "Woodgrove",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Lucerne",
    "Trey",
    "Wide World",
    "Graphic Design",
    "Humongous",
    "Margie's",
    "Relecloud",
)
REGIONS = ("North", "South", "East", "West")
CHURN_REASONS = ("Service quality", "Price", "Moved to competitor", "In-house IT", "Acquired")
CHURN_REASON_P = (0.35, 0.25, 0.2, 0.1, 0.1)
DECLINE_DAYS = 120  # how long before cancelling a churner's service starts to go wrong
PATCH_HALF_WIDTH = 30  # days either side of a survivable rough patch's worst day


@dataclass
class ClientPlan:
    """Per-client arrays (aligned with the clients frame) that every MSP generator reads."""

    ids: np.ndarray
    segment: np.ndarray
    industry: np.ndarray
    employees: np.ndarray
    endpoints: np.ndarray  # devices billed under managed services at onboarding
    onboarded: np.ndarray  # day number (negative: before the history starts)
    churn_day: np.ndarray  # NaN for clients that stay
    churn_reason: np.ndarray
    declines: np.ndarray  # churners whose service visibly worsened first
    patch_day: np.ndarray  # NaN, or the worst day of a rough patch the client survives
    slow_payer: np.ndarray
    gap_service: np.ndarray  # "" or the agreement type planted as missing
    drift: np.ndarray  # extra share of endpoints supported but not billed by the end (0 if none)
    end: float  # the timeline's end

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def window_end(self) -> np.ndarray:
        """Last moment (exclusive) the client is served: its churn or the export date."""
        return np.where(np.isnan(self.churn_day), self.end, self.churn_day)

    @property
    def window_start(self) -> np.ndarray:
        return np.maximum(self.onboarded, 0.0)

    def trouble(self, client: np.ndarray, day: np.ndarray) -> np.ndarray:
        """0 (all well) .. 1 (about to leave): drives P1 share, SLA misses, CSAT, late payment."""
        churn = self.churn_day[client]
        ramp = np.clip((day - (churn - DECLINE_DAYS)) / (DECLINE_DAYS - 30), 0, 1)
        decline = np.where(self.declines[client], np.nan_to_num(ramp), 0.0)
        patch = 0.45 * np.clip(1 - np.abs(day - self.patch_day[client]) / PATCH_HALF_WIDTH, 0, 1)
        return np.maximum(decline, np.nan_to_num(patch))


def plan_clients(rng: np.random.Generator, scale: Scale, timeline: Timeline) -> tuple[pd.DataFrame, ClientPlan]:
    n, end = scale.clients, timeline.end
    client_ids = ids("C", np.arange(1, n + 1), 5)
    industry_index = rng.integers(0, len(INDUSTRIES), n)
    industry = np.array(INDUSTRIES)[industry_index]
    employees = np.clip(np.round(rng.lognormal(np.log(45), 0.85, n)), 5, 1500).astype(int)
    segment = np.select([employees < 75, employees < 300], ["SMB", "Mid-Market"], "Enterprise")
    # Most clients predate the history; a fifth were won during it.
    won_during = rng.random(n) < 0.2
    onboarded = np.where(won_during, rng.uniform(0, end * 0.7, n), -rng.uniform(30, 2000, n)).round()
    churn_day = _churn_days(rng, onboarded, end)
    churners = ~np.isnan(churn_day)
    reason = np.where(churners, rng.choice(CHURN_REASONS, n, p=CHURN_REASON_P), "")
    stayers = ~churners
    patch_day = np.where(stayers & (rng.random(n) < 0.12), rng.uniform(60, end, n), np.nan)
    settled = stayers & (onboarded < end - 240)
    gap_service = np.where(
        settled & (rng.random(n) < 0.12),
        np.where(np.isin(industry, ["Healthcare", "Finance", "Legal"]), "security", "backup"),
        "",
    )
    drift = np.where(stayers & (gap_service == "") & (rng.random(n) < 0.1), rng.uniform(0.15, 0.35, n), 0.0)
    plan = ClientPlan(
        ids=client_ids,
        segment=segment,
        industry=industry,
        employees=employees,
        endpoints=np.maximum(3, np.round(employees * rng.uniform(1.05, 1.4, n))).astype(int),
        onboarded=onboarded,
        churn_day=churn_day,
        churn_reason=reason,
        declines=churners & (reason != "Acquired"),
        patch_day=patch_day,
        slow_payer=stayers & (rng.random(n) < 0.08),
        gap_service=gap_service,
        drift=drift,
        end=end,
    )
    clients = pd.DataFrame(
        {
            "client_id": client_ids,
            "client_name": _names(rng, industry_index),
            "industry": industry,
            "segment": segment,
            "region": rng.choice(REGIONS, n),
            "onboarded_date": timeline.dates(onboarded),
            "employee_count": employees,
        }
    )
    return clients, plan


def _churn_days(rng, onboarded: np.ndarray, end: float) -> np.ndarray:
    """About a quarter of the clients leave, spread over the history so later months can test a model
    trained on earlier ones; nobody leaves in their first half year or before the history has depth."""
    n = len(onboarded)
    earliest = np.maximum(DECLINE_DAYS, onboarded + 180)
    latest = end - 7
    eligible = earliest < latest
    leaves = eligible & (rng.random(n) < 0.3)
    days = earliest + rng.random(n) * np.maximum(latest - earliest, 0)
    return np.where(leaves, np.floor(days), np.nan)


def _names(rng, industry_index: np.ndarray) -> np.ndarray:
    n = len(industry_index)
    prefix = rng.choice(NAME_PREFIXES, n)
    suffix = np.array(list(INDUSTRY_SUFFIXES.values()))[industry_index, rng.integers(0, 3, n)]
    names = pd.Series(np.char.add(np.char.add(prefix, " "), suffix))
    repeat = names.groupby(names).cumcount().to_numpy()
    return np.where(repeat > 0, names + " " + (repeat + 1).astype(str), names)
