"""SaaS estate: the application catalogue, one subscription per application, seat assignments and
daily per-user activity. Planted: seats nobody uses (including leavers who kept theirs), users who
faded away, two pairs of overlapping applications, and one application's outage day."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingestion.demo.it_people import DEPARTMENTS, People
from ingestion.demo.timeline import Timeline, ids, labels, weekday


@dataclass(frozen=True)
class App:
    name: str
    vendor: str
    category: str
    plan: str
    price: float  # per seat per month
    billing_period: str
    owner: str  # department that owns the subscription
    adoption: dict = field(default_factory=dict)  # share of each department holding a seat
    default_share: float = 0.0
    actions_per_day: float = 10.0
    overlaps: tuple[int, float] | None = None  # (app index, share of its holders who also get this one)
    sanctioned: bool = True


CATALOGUE = (
    App(
        "Microsoft 365 E3",
        "Microsoft",
        "Productivity Suite",
        "E3",
        36.0,
        "annual",
        "IT",
        default_share=0.98,
        actions_per_day=35,
    ),
    App(
        "Slack Business+",
        "Salesforce",
        "Team Chat",
        "Business+",
        12.5,
        "annual",
        "Engineering",
        {"Engineering": 0.95, "IT": 0.8, "Support": 0.6},
        0.3,
        actions_per_day=40,
    ),
    App(
        "Zoom Workplace Pro",
        "Zoom",
        "Video Conferencing",
        "Pro",
        13.33,
        "monthly",
        "Sales",
        {"Sales": 0.9, "Marketing": 0.6},
        0.2,
        actions_per_day=3,
    ),
    App(
        "Webex Meetings",
        "Cisco",
        "Video Conferencing",
        "Business",
        14.5,
        "annual",
        "Support",
        {"Support": 0.7},
        0.05,
        actions_per_day=2,
        overlaps=(2, 0.6),
    ),
    App(
        "Salesforce Sales Cloud",
        "Salesforce",
        "CRM",
        "Enterprise",
        165.0,
        "annual",
        "Sales",
        {"Sales": 0.95, "Support": 0.3, "Marketing": 0.2},
        0.01,
        actions_per_day=25,
    ),
    App(
        "HubSpot Sales Hub",
        "HubSpot",
        "CRM",
        "Professional",
        90.0,
        "annual",
        "Marketing",
        {"Marketing": 0.8},
        0.0,
        actions_per_day=15,
        overlaps=(4, 0.5),
    ),
    App(
        "Jira Software",
        "Atlassian",
        "Project Management",
        "Standard",
        8.6,
        "monthly",
        "Engineering",
        {"Engineering": 0.95, "IT": 0.7, "Support": 0.5},
        0.05,
        actions_per_day=12,
    ),
    App(
        "GitHub Enterprise",
        "GitHub",
        "Source Code Management",
        "Enterprise",
        21.0,
        "annual",
        "Engineering",
        {"Engineering": 0.9, "IT": 0.3},
        0.0,
        actions_per_day=18,
    ),
    App(
        "Adobe Creative Cloud",
        "Adobe",
        "Design",
        "All Apps",
        89.99,
        "annual",
        "Marketing",
        {"Marketing": 0.7},
        0.01,
        actions_per_day=6,
    ),
    App(
        "Figma Professional",
        "Figma",
        "Design",
        "Professional",
        15.0,
        "monthly",
        "Engineering",
        {"Engineering": 0.15},
        0.0,
        actions_per_day=8,
    ),
    App(
        "DocuSign Business Pro",
        "DocuSign",
        "E-Signature",
        "Business Pro",
        40.0,
        "annual",
        "Finance",
        {"Finance": 0.6, "Sales": 0.3},
        0.0,
        actions_per_day=2,
    ),
    App(
        "Notion Plus",
        "Notion",
        "Knowledge Base",
        "Plus",
        10.0,
        "monthly",
        "Operations",
        {"Operations": 0.4, "Engineering": 0.2},
        0.02,
        actions_per_day=5,
        sanctioned=False,
    ),
)
APPLICATION_IDS = ids("APP", np.arange(1, len(CATALOGUE) + 1), 3)
OUTAGE_APP = 1  # Slack: one day of near-silence mid-window
IDLE_SHARE = 0.12
FADING_SHARE = 0.08


@dataclass
class Seats:
    """One row per assignment (aligned arrays)."""

    app: np.ndarray
    person: np.ndarray
    assigned: np.ndarray  # day numbers
    unassigned: np.ndarray  # NaN while held
    idle: np.ndarray  # planted: never used

    @property
    def held(self) -> np.ndarray:
        return np.isnan(self.unassigned)


def make_applications() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "application_id": APPLICATION_IDS,
            "application_name": [a.name for a in CATALOGUE],
            "vendor": [a.vendor for a in CATALOGUE],
            "category": [a.category for a in CATALOGUE],
            "sanctioned": [a.sanctioned for a in CATALOGUE],
        }
    )


def make_subscriptions_and_seats(rng, people: People, timeline: Timeline) -> tuple[pd.DataFrame, pd.DataFrame, Seats]:
    end = timeline.end
    start = np.floor(end - rng.uniform(1.5, 6, len(CATALOGUE)) * 365)
    annual = np.array([a.billing_period == "annual" for a in CATALOGUE])
    # The next anniversary of the start: yearly for annual plans, monthly otherwise.
    period = np.where(annual, 365.0, 30.0)
    renewal = start + period * np.ceil((end - start) / period)
    holders = []
    for app in CATALOGUE:
        share = np.array([app.adoption.get(d, app.default_share) for d in DEPARTMENTS])[people.department]
        holds = rng.random(people.n) < share
        if app.overlaps:
            base, overlap = app.overlaps
            holds |= holders[base] & (rng.random(people.n) < overlap)
        holders.append(holds)
    app, person = np.nonzero(np.array(holders))
    k = len(app)
    assigned = np.floor(np.maximum(people.hired[person], start[app]) + rng.uniform(0, 20, k))
    left = people.left[person]
    keep = (assigned < end) & ~(assigned >= left)
    app, person, assigned, left, k = app[keep], person[keep], assigned[keep], left[keep], int(keep.sum())
    # Offboarding is imperfect: 30% of leavers keep their seats.
    handed_back = ~np.isnan(left) & (rng.random(k) < 0.7)
    moved_on = np.isnan(left) & (rng.random(k) < 0.03) & (assigned + 60 < end)
    unassigned = np.where(
        handed_back,
        np.minimum(left + rng.integers(0, 10, k), end - 1),
        np.where(moved_on, np.floor(assigned + 30 + rng.random(k) * (end - 31 - assigned)), np.nan),
    )
    idle = np.isnan(unassigned) & np.isnan(left) & (assigned <= end - 45) & (rng.random(k) < IDLE_SHARE)
    seats = Seats(app, person, assigned, unassigned, idle)

    held_per_app = np.bincount(app[seats.held], minlength=len(CATALOGUE))
    subscriptions = pd.DataFrame(
        {
            "subscription_id": ids("SUB", np.arange(1, len(CATALOGUE) + 1), 4),
            "application_id": APPLICATION_IDS,
            "plan": [a.plan for a in CATALOGUE],
            "seats_purchased": np.ceil(held_per_app * rng.uniform(1.03, 1.3, len(CATALOGUE))).astype(int) + 1,
            "price_per_seat_month": [a.price for a in CATALOGUE],
            "billing_period": [a.billing_period for a in CATALOGUE],
            "start_date": timeline.dates(start),
            "renewal_date": timeline.dates(renewal),
            "auto_renew": rng.random(len(CATALOGUE)) < 0.7,
            "department": [a.owner for a in CATALOGUE],
        }
    )
    order = np.lexsort((person, app))
    assignments = pd.DataFrame(
        {
            "subscription_id": subscriptions["subscription_id"].to_numpy()[app[order]],
            "employee_id": people.ids[person[order]],
            "assigned_date": timeline.dates(assigned[order]),
            "unassigned_date": timeline.dates(unassigned[order]),
        }
    )
    return subscriptions, assignments, Seats(app[order], person[order], assigned[order], unassigned[order], idle[order])


def make_daily_usage(
    rng, people: People, seats: Seats, usage_days: int, timeline: Timeline
) -> tuple[pd.DataFrame, list[dict]]:
    """One row per seat holder and day of the window while they hold the seat; idle seats have none."""
    end = timeline.end
    days = np.arange(end - usage_days, end)
    k = len(seats.app)
    began = seats.assigned + rng.integers(0, 5, k)
    stopped = np.fmin(np.fmin(seats.unassigned, people.left[seats.person]), end)
    seat, d = np.nonzero((days[None, :] >= began[:, None]) & (days[None, :] < stopped[:, None]) & ~seats.idle[:, None])
    day = days[d]
    dates = timeline.dates(day)
    weekend = weekday(dates) >= 5
    engagement = rng.beta(6, 1.5, k)
    fades = seats.held & ~seats.idle & (rng.random(k) < FADING_SHARE) & (usage_days >= 45)
    fade_day = np.where(fades, days[0] + 5 + rng.random(k) * (usage_days - 40), np.inf)
    chance = engagement[seat] * np.where(weekend, 0.12, 1.0) * (day < fade_day[seat])
    anomalies = []
    if usage_days >= 28:
        outage = days[int(usage_days * 0.6)]
        outage -= max(0, int(weekday(timeline.dates([outage]))[0]) - 4)  # a weekend day -> the Friday before
        chance = np.where((seats.app[seat] == OUTAGE_APP) & (day == outage), chance * 0.04, chance)
        anomalies.append(
            {
                "series": f"application_id={APPLICATION_IDS[OUTAGE_APP]}",
                "application_id": str(APPLICATION_IDS[OUTAGE_APP]),
                "date": str(timeline.dates([outage])[0]),
                "kind": "drop",
            }
        )
    active = rng.random(len(seat)) < chance
    actions = np.array([a.actions_per_day for a in CATALOGUE])[seats.app[seat]]
    usage = pd.DataFrame(
        {
            "usage_date": dates,
            "employee_id": labels(people.ids, seats.person[seat]),
            "application_id": labels(APPLICATION_IDS, seats.app[seat]),
            "active": active,
            "activity_count": np.where(active, rng.poisson(actions), 0),
        }
    )
    return usage, anomalies


def idle_seats(
    seats: Seats, people: People, subscriptions: pd.DataFrame, usage: pd.DataFrame, usage_days: int, timeline: Timeline
) -> list[dict]:
    """Held seats, assigned before the usage window, with no active day in it."""
    window_start = timeline.end - usage_days
    active = usage.loc[usage["active"], ["employee_id", "application_id"]].drop_duplicates()
    candidates = pd.DataFrame(
        {
            "subscription_id": subscriptions["subscription_id"].to_numpy()[seats.app],
            "employee_id": people.ids[seats.person],
            "application_id": APPLICATION_IDS[seats.app],
            "reason": np.select(
                [seats.idle, ~np.isnan(people.left[seats.person])], ["never_used", "left_company"], "stopped_using"
            ),
        }
    )[seats.held & (seats.assigned <= window_start)]
    merged = candidates.merge(active, how="left", on=["employee_id", "application_id"], indicator=True)
    return merged.loc[merged["_merge"] == "left_only", list(candidates.columns)].to_dict("records")


def duplicate_pairs(seats: Seats) -> list[dict]:
    pairs = []
    for b, app in enumerate(CATALOGUE):
        if not app.overlaps:
            continue
        a = app.overlaps[0]
        users_a = set(seats.person[seats.held & (seats.app == a)].tolist())
        users_b = set(seats.person[seats.held & (seats.app == b)].tolist())
        both = len(users_a & users_b)
        pairs.append(
            {
                "application_ids": [str(APPLICATION_IDS[a]), str(APPLICATION_IDS[b])],
                "application_names": [CATALOGUE[a].name, app.name],
                "category": app.category,
                "overlapping_users": both,
                "overlap_share": round(both / max(1, min(len(users_a), len(users_b))), 3),
            }
        )
    return pairs
