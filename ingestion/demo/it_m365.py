"""The Microsoft 365 active user detail report, derived from the same people, seats and usage as the
SaaS files, so the report and the licence model agree (Microsoft 365 E3 is the first application)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingestion.contracts.m365 import ACTIVE_USER_DETAIL_HEADERS, WORKLOADS
from ingestion.demo.it_people import People
from ingestion.demo.it_saas import APPLICATION_IDS, Seats
from ingestion.demo.timeline import Timeline

M365_APP = 0
ASSIGNED_PRODUCTS = "MICROSOFT 365 E3"
# Chance that a day a user is active in Microsoft 365 includes this workload.
WORKLOAD_SHARE = {
    "Exchange": 0.95,
    "OneDrive": 0.55,
    "SharePoint": 0.45,
    "Skype For Business": 0.0,
    "Yammer": 0.04,
    "Teams": 0.85,
}
LICENSED = {
    "Exchange": True,
    "OneDrive": True,
    "SharePoint": True,
    "Skype For Business": False,
    "Yammer": True,
    "Teams": True,
}
DELETED_USERS_KEPT_DAYS = 30  # deleted accounts stay in the report this long


def _flag(values: np.ndarray) -> np.ndarray:
    return np.where(values, "True", "False")


def make_active_user_detail(rng, people: People, seats: Seats, usage: pd.DataFrame, timeline: Timeline) -> pd.DataFrame:
    refresh_day = timeline.end - 1
    # Accounts go when offboarding removes the seat; leavers who kept a seat kept their account too.
    m365 = seats.app == M365_APP
    seat_of = pd.Series(np.flatnonzero(m365), index=seats.person[m365])
    seat_of = seat_of[~seat_of.index.duplicated(keep="last")]
    seat = seat_of.reindex(np.arange(people.n)).to_numpy()
    has_seat = ~np.isnan(seat)
    seat_index = np.nan_to_num(seat).astype(int)
    holds = has_seat & np.isnan(seats.unassigned[seat_index])
    deleted_on = np.where(
        ~np.isnan(people.left) & ~holds, np.where(has_seat, seats.unassigned[seat_index], people.left), np.nan
    )
    listed = (people.hired <= refresh_day) & ~(deleted_on < refresh_day - DELETED_USERS_KEPT_DAYS)
    is_deleted = ~np.isnan(deleted_on)

    last_active = (
        usage.loc[usage["active"] & (usage["application_id"] == APPLICATION_IDS[M365_APP])]
        .groupby("employee_id")["usage_date"]
        .max()
    )
    last_active = timeline.day_of(last_active.reindex(people.ids).to_numpy())
    licensed = holds
    frame = {
        "Report Refresh Date": timeline.dates(np.full(people.n, refresh_day)),
        "User Principal Name": people.upn,
        "Display Name": people.display_name,
        "Is Deleted": _flag(is_deleted),
        "Deleted Date": timeline.dates(deleted_on),
    }
    for workload in WORKLOADS:
        frame[f"Has {workload} License"] = _flag(licensed & LICENSED[workload])
    for workload in WORKLOADS:
        share = WORKLOAD_SHARE[workload]
        # The last day this workload was used: a geometric number of active days before the last active
        # day, at ~1.4 calendar days per active day (weekends are quiet).
        gap = rng.geometric(share, people.n) - 1 if share > 0 else np.full(people.n, np.nan)
        frame[f"{workload} Last Activity Date"] = timeline.dates(np.where(licensed, last_active - gap * 1.4, np.nan))
    assigned = np.where(licensed, seats.assigned[seat_index], np.nan)
    for workload in WORKLOADS:
        frame[f"{workload} License Assign Date"] = timeline.dates(np.where(LICENSED[workload], assigned, np.nan))
    frame["Assigned Products"] = np.where(licensed, ASSIGNED_PRODUCTS, None)
    report = pd.DataFrame(frame)[list(ACTIVE_USER_DETAIL_HEADERS)]
    return report[listed].reset_index(drop=True)
