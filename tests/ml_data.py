"""Synthetic data with known answers for the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def churn_panel(clients: int = 200, months: int = 12, seed: int = 1) -> pd.DataFrame:
    """One row per client per month. The label follows a planted rule a linear model cannot
    express: low CSAT together with P1 tickets, a ticket load far from its usual level in either
    direction, or an SMB client paying late; 3% of labels are flipped as noise."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["SMB", "Mid-Market", "Enterprise"], clients)
    rows = []
    for month in range(months):
        csat = rng.normal(4.2, 0.6, clients)
        p1 = rng.poisson(1.5, clients)
        trend = rng.lognormal(0, 0.4, clients)
        late = rng.exponential(6, clients)
        risky = ((csat < 3.6) & (p1 >= 2)) | (np.abs(np.log(trend)) > 0.75) | ((segment == "SMB") & (late > 15))
        rows.append(
            pd.DataFrame(
                {
                    "client_id": [f"C{i:04d}" for i in range(clients)],
                    "month": pd.Timestamp("2025-01-01") + pd.DateOffset(months=month),
                    "segment": segment,
                    "region": rng.choice(["EU", "US", None], clients),
                    "csat": np.where(rng.random(clients) < 0.1, np.nan, csat),
                    "p1_tickets": p1,
                    "ticket_trend": trend,
                    "days_late": late,
                    "noise": rng.normal(size=clients),
                    "churns_90d": risky ^ (rng.random(clients) < 0.03),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


PLANTED = {"spike": 150, "drop": 300, "level_shift": 520}  # day index of each planted incident


def daily_spend(
    days: int = 640,
    seed: int = 3,
    base: float = 100.0,
    growth: float = 0.3,
    noise: float = 0.03,
    weekend: float = 0.6,
    plant: bool = True,
) -> pd.DataFrame:
    """Daily spend with a weekly rhythm (weekends at `weekend` of a weekday), linear growth and
    lognormal noise; with `plant`, a 3x spike, a drop to 30% and a lasting 1.5x level shift."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-01", periods=days, freq="D")
    t = np.arange(days)
    rhythm = np.where(dates.day_of_week >= 5, weekend, 1.0)
    values = base * (1 + growth * t / 365) * rhythm * rng.lognormal(0, noise, days)
    if plant:
        values[PLANTED["spike"]] *= 3.0
        values[PLANTED["drop"]] *= 0.3
        values[PLANTED["level_shift"] :] *= 1.5
    return pd.DataFrame({"day": dates, "cost": values})


def planted_truth(series: list[str], frame: pd.DataFrame) -> pd.DataFrame:
    """The planted incidents of `daily_spend` for each named series."""
    return pd.DataFrame(
        [
            {"series": name, "time": frame["day"].iloc[day], "kind": kind}
            for name in series
            for kind, day in PLANTED.items()
        ]
    )


def churn_export(clients: int = 200, months: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(export, panel): `churn_panel` as a spreadsheet export gives it: P1 tickets as text with blank cells (spaces
    where the count is unknown), and three columns no model should read: a ticket reference on every
    row, an account manager that is the same on every row, and a free-text note; and the panel with
    the same P1 counts as numbers (missing where the export is blank)."""
    panel = churn_panel(clients, months)
    unknown = np.random.default_rng(5).random(len(panel)) < 0.05
    export = panel.assign(
        p1_tickets=np.where(unknown, "  ", panel["p1_tickets"].map(lambda n: f" {n}")),
        ticket_ref=[f"T-{i:06d}" for i in range(len(panel))],
        account_manager="Dana",
        note=[f"Called about invoice {i} and the backup job" for i in range(len(panel))],
    )
    return export, panel.assign(p1_tickets=panel["p1_tickets"].where(~unknown))
