"""Recommendations with a monthly money impact and a plain-language reason, ranked by money.

Every function takes DataFrames and returns rows with the same columns (`COLUMNS`): the kind of
recommendation, what it is about (`subject_type`, `subject_id`), the MSP client it concerns (None
for internal IT), `monthly_impact` (money per month, positive: saved, won or protected), `reason`
and `details` (JSON). `rank` puts any of them together, biggest money first. Amounts are in the
currency of the inputs; reasons print them with a $ sign.

Dates are compared with `as_of` (a date or timestamp); prices are per unit per month.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

COLUMNS = ["kind", "subject_type", "subject_id", "client_id", "monthly_impact", "reason", "details"]


def _money(amount: float) -> str:
    return f"${amount:,.0f}" if abs(amount) >= 100 else f"${amount:,.2f}"


def _frame(rows: list[dict]) -> pd.DataFrame:
    result = pd.DataFrame(rows, columns=COLUMNS)
    result["monthly_impact"] = result["monthly_impact"].astype(float).round(2)
    return result.sort_values("monthly_impact", ascending=False, kind="stable").reset_index(drop=True)


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}")


def _name(row, id_column: str, name_column: str) -> str:
    name = getattr(row, name_column, None)
    return str(name) if name is not None and not pd.isna(name) else str(getattr(row, id_column))


def _inactive(seats: pd.DataFrame, as_of, inactive_days: int) -> pd.Series:
    last = pd.to_datetime(seats["last_active_date"])
    return last.isna() | (last < pd.Timestamp(as_of) - pd.Timedelta(days=inactive_days))


def reclaim_inactive_seats(
    seats: pd.DataFrame, as_of, inactive_days: int = 30, recent_days: int | None = None
) -> pd.DataFrame:
    """Seats held but unused: one recommendation per subscription.

    `seats`: one row per licence assignment held today, with subscription_id, employee_id,
    assigned_date, last_active_date (empty when never used) and monthly_price (per seat);
    application_name optional. A seat is reclaimable when it has had no activity for
    `inactive_days` and was assigned more than `recent_days` ago (default: `inactive_days`; a new
    joiner has not had the time to use it yet). Impact: the monthly price of those seats."""
    _require(
        seats,
        ["subscription_id", "employee_id", "assigned_date", "last_active_date", "monthly_price"],
        "reclaim_inactive_seats",
    )
    recent = inactive_days if recent_days is None else recent_days
    settled = pd.to_datetime(seats["assigned_date"]) <= pd.Timestamp(as_of) - pd.Timedelta(days=recent)
    idle = seats[_inactive(seats, as_of, inactive_days) & settled]
    rows = []
    for subscription_id, group in idle.groupby("subscription_id", sort=True):
        name = _name(group.iloc[0], "subscription_id", "application_name")
        never = int(pd.to_datetime(group["last_active_date"]).isna().sum())
        money = float(group["monthly_price"].sum())
        never_text = f" ({never} never used)" if never else ""
        rows.append(
            {
                "kind": "reclaim_inactive_seats",
                "subject_type": "subscription",
                "subject_id": str(subscription_id),
                "client_id": None,
                "monthly_impact": money,
                "reason": f"{len(group)} {name} seat{'s' if len(group) != 1 else ''} unused for {inactive_days}+ days"
                f"{never_text}: reclaim them to save {_money(money)}/month.",
                "details": json.dumps(
                    {
                        "seats": len(group),
                        "never_used": never,
                        "inactive_days": inactive_days,
                        "employee_ids": sorted(map(str, group["employee_id"]))[:100],
                    }
                ),
            }
        )
    return _frame(rows)


def right_size_at_renewal(
    subscriptions: pd.DataFrame,
    seats: pd.DataFrame,
    as_of,
    buffer: float = 0.10,
    window_days: int = 120,
    inactive_days: int = 30,
) -> pd.DataFrame:
    """Subscriptions renewing within `window_days` that carry more seats than they need.

    `subscriptions`: subscription_id, seats_purchased, monthly_price (per seat), renewal_date;
    application_name optional. `seats`: as for `reclaim_inactive_seats`. Seats needed = seats
    active in the last `inactive_days`, plus `buffer` (default 10%), rounded up. Impact: the seats
    above that times the price. These savings include any idle seats also listed for reclaiming."""
    _require(
        subscriptions, ["subscription_id", "seats_purchased", "monthly_price", "renewal_date"], "right_size_at_renewal"
    )
    _require(seats, ["subscription_id", "last_active_date"], "right_size_at_renewal")
    today = pd.Timestamp(as_of)
    active = seats[~_inactive(seats, as_of, inactive_days)].groupby("subscription_id").size()
    rows = []
    for sub in subscriptions.itertuples(index=False):
        renewal = pd.Timestamp(sub.renewal_date)
        if pd.isna(renewal) or not today <= renewal <= today + pd.Timedelta(days=window_days):
            continue
        used = int(active.get(sub.subscription_id, 0))
        needed = math.ceil(used * (1 + buffer) - 1e-9)
        surplus = int(sub.seats_purchased) - needed
        if surplus <= 0:
            continue
        money = surplus * float(sub.monthly_price)
        name = _name(sub, "subscription_id", "application_name")
        days = (renewal - today).days
        rows.append(
            {
                "kind": "right_size_at_renewal",
                "subject_type": "subscription",
                "subject_id": str(sub.subscription_id),
                "client_id": None,
                "monthly_impact": money,
                "reason": f"{name} renews on {renewal.date()} (in {days} days): {used} of {int(sub.seats_purchased)} "
                f"seats active in the last {inactive_days} days; renew {needed} ({used} + {buffer:.0%} "
                f"buffer) and save {_money(money)}/month.",
                "details": json.dumps(
                    {
                        "renewal_date": str(renewal.date()),
                        "seats_purchased": int(sub.seats_purchased),
                        "active_seats": used,
                        "seats_needed": needed,
                        "surplus": surplus,
                        "buffer": buffer,
                    }
                ),
            }
        )
    return _frame(rows)


def consolidate_duplicate_apps(seats: pd.DataFrame, applications: pd.DataFrame, min_overlap: int = 1) -> pd.DataFrame:
    """Pairs of applications in the same category held by the same people.

    `seats`: application_id, employee_id, monthly_price (one row per seat held). `applications`:
    application_id, category; application_name optional. For each pair with at least
    `min_overlap` people holding both, the app with fewer holders (the pricier one on a tie) is
    the one to drop. Impact: what the shared people's seats on it cost; the cost of moving all its
    holders is in the details."""
    _require(seats, ["application_id", "employee_id", "monthly_price"], "consolidate_duplicate_apps")
    _require(applications, ["application_id", "category"], "consolidate_duplicate_apps")
    names = applications.set_index("application_id")
    holders = {app: group for app, group in seats.groupby("application_id")}
    rows = []
    for category, apps in applications.groupby("category", sort=True):
        ids = [a for a in apps["application_id"] if a in holders]
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                users_a, users_b = set(holders[a]["employee_id"]), set(holders[b]["employee_id"])
                both = users_a & users_b
                if len(both) < min_overlap:
                    continue
                price = {app: float(holders[app]["monthly_price"].mean()) for app in (a, b)}
                drop = min((a, b), key=lambda app: (len(holders[app]), -price[app]))
                keep = b if drop == a else a
                dropped = holders[drop]
                money = float(dropped.loc[dropped["employee_id"].isin(both), "monthly_price"].sum())
                everyone = float(dropped["monthly_price"].sum())
                label = {
                    app: str(names.at[app, "application_name"]) if "application_name" in names else str(app)
                    for app in (a, b)
                }
                rows.append(
                    {
                        "kind": "consolidate_duplicate_apps",
                        "subject_type": "application_pair",
                        "subject_id": f"{keep}|{drop}",
                        "client_id": None,
                        "monthly_impact": money,
                        "reason": f"{len(both)} people hold both {label[keep]} and {label[drop]} ({category}): drop "
                        f"their {label[drop]} seats to save {_money(money)}/month; moving all "
                        f"{len(dropped)} {label[drop]} users to {label[keep]} would save up to "
                        f"{_money(everyone)}/month.",
                        "details": json.dumps(
                            {
                                "category": str(category),
                                "keep": str(keep),
                                "drop": str(drop),
                                "overlapping_users": len(both),
                                "drop_holders": len(dropped),
                                "full_consolidation_monthly": round(everyone, 2),
                            }
                        ),
                    }
                )
    return _frame(rows)


def _demand(tickets: pd.DataFrame | None, demand_map: dict | None) -> pd.Series:
    if tickets is None or tickets.empty:
        return pd.Series(dtype=float)
    category = tickets["category"].astype("string")
    service = category.map(demand_map) if demand_map else category.str.strip().str.lower()
    return (
        pd.DataFrame({"client_id": tickets["client_id"].to_numpy(), "service": service.to_numpy()})
        .dropna()
        .groupby(["client_id", "service"])
        .size()
    )


def upsell_opportunities(
    services: pd.DataFrame,
    clients: pd.DataFrame,
    tickets: pd.DataFrame | None = None,
    peer_columns: tuple[str, ...] = ("segment",),
    size_column: str | None = None,
    min_peer_share: float = 0.5,
    min_demand_tickets: int = 2,
    demand_map: dict | None = None,
) -> pd.DataFrame:
    """Services a client lacks that similar clients buy, or that its tickets ask for.

    `services`: client_id, service, monthly_amount (active agreements; several rows per client and
    service are summed); clients without any active service are not offered anything.
    `clients`: client_id and the `peer_columns` that define similar clients (same values), plus
    `size_column` when given (employees, endpoints ...). `tickets` (optional): client_id, category,
    over whatever recent window the caller chose; a category counts as demand for the service it
    maps to in `demand_map` (default: the category's lower-cased name is the service name).
    A gap is offered when at least `min_peer_share` of the client's peers buy the service or the
    client raised `min_demand_tickets` tickets for it. Impact: the estimated MRR, the median of
    what peers pay for it (per unit of size, times the client's size, when `size_column` is set;
    all clients' prices when no peer buys it)."""
    _require(services, ["client_id", "service", "monthly_amount"], "upsell_opportunities")
    _require(clients, ["client_id", *peer_columns, *([size_column] if size_column else [])], "upsell_opportunities")
    held = services.groupby(["client_id", "service"], as_index=False)["monthly_amount"].sum()
    active = clients[clients["client_id"].isin(held["client_id"])].set_index("client_id")
    price = held.set_index(["client_id", "service"])["monthly_amount"]
    if size_column:
        size = pd.to_numeric(active[size_column], errors="coerce").where(lambda s: s > 0)
        price = price / size.reindex(price.index.get_level_values("client_id")).to_numpy()
    holders = {service: set(group["client_id"]) for service, group in held.groupby("service")}
    demand = _demand(tickets, demand_map)
    peer_key = (
        active[list(peer_columns)].astype("string").fillna("(missing)").agg(" / ".join, axis=1)
        if peer_columns
        else pd.Series("all", index=active.index)
    )
    rows = []
    for client_id, key in peer_key.items():
        peers = set(peer_key.index[(peer_key == key) & (peer_key.index != client_id)])
        for service, buyers in holders.items():
            if client_id in buyers:
                continue
            peer_buyers = peers & buyers
            share = len(peer_buyers) / len(peers) if peers else 0.0
            asked = int(demand.get((client_id, service), 0))
            if share < min_peer_share and asked < min_demand_tickets:
                continue
            prices = price.loc[[(b, service) for b in sorted(peer_buyers or buyers)]].dropna()
            scale = float(active.at[client_id, size_column]) if size_column else 1.0
            estimate = float(prices.median()) * scale if len(prices) else np.nan
            if not np.isfinite(estimate) or estimate <= 0:
                continue
            because = []
            if len(peers):
                because.append(f"{share:.0%} of {len(peers)} similar clients ({key}) buy {service}")
            if asked:
                because.append(f"{asked} recent ticket{'s' if asked != 1 else ''} about {service}")
            rows.append(
                {
                    "kind": "upsell",
                    "subject_type": "client_service",
                    "subject_id": f"{client_id}|{service}",
                    "client_id": str(client_id),
                    "monthly_impact": estimate,
                    "reason": f"Offer {service}: " + "; ".join(because) + f"; estimated {_money(estimate)}/month.",
                    "details": json.dumps(
                        {
                            "service": str(service),
                            "peer_group": str(key),
                            "peers": int(len(peers)),
                            "peer_share": round(share, 3),
                            "demand_tickets": asked,
                        }
                    ),
                }
            )
    return _frame(rows)


def _driver_text(drivers) -> str:
    try:
        parsed = json.loads(drivers) if isinstance(drivers, str) else []
    except ValueError:
        return ""
    named = [f"{d['feature']} ({d['value']})" for d in parsed if isinstance(d, dict) and d.get("effect", 0) > 0]
    return f"; driven by {', '.join(named)}" if named else ""


def churn_prevention(scores: pd.DataFrame, min_probability: float = 0.2) -> pd.DataFrame:
    """Clients likely to cancel, ranked by MRR at risk (probability x MRR).

    `scores`: client_id, churn_probability, mrr; drivers optional (the JSON of
    `ml_assets.churn`). Clients below `min_probability` are left out. Impact: MRR at risk."""
    _require(scores, ["client_id", "churn_probability", "mrr"], "churn_prevention")
    rows = []
    for row in scores.itertuples(index=False):
        probability, mrr = float(row.churn_probability), float(row.mrr)
        if not probability >= min_probability or not mrr > 0:  # an unscored (NaN) client is left out too
            continue
        at_risk = probability * mrr
        rows.append(
            {
                "kind": "churn_prevention",
                "subject_type": "client",
                "subject_id": str(row.client_id),
                "client_id": str(row.client_id),
                "monthly_impact": at_risk,
                "reason": f"{probability:.0%} chance of cancelling within 90 days on {_money(mrr)} MRR: "
                f"{_money(at_risk)}/month at risk{_driver_text(getattr(row, 'drivers', None))}.",
                "details": json.dumps({"churn_probability": round(probability, 4), "mrr": round(mrr, 2)}),
            }
        )
    return _frame(rows)


def billing_drift(billing: pd.DataFrame, min_units: int = 1, min_share: float = 0.0) -> pd.DataFrame:
    """Agreements billing a different number of units than the MSP supports.

    `billing`: client_id, agreement_id, billed_units, supported_units (e.g. endpoints seen by the
    RMM), unit_price; service optional. Differences under `min_units`, or under `min_share` of the
    billed units (device counts move by a few percent as machines come and go between billing
    runs), are ignored. Impact: the difference times the unit price, either revenue not billed or a
    charge for units no longer supported (a credit the client may ask for)."""
    _require(billing, ["client_id", "agreement_id", "billed_units", "supported_units", "unit_price"], "billing_drift")
    rows = []
    for row in billing.itertuples(index=False):
        gap = float(row.supported_units) - float(row.billed_units)
        if pd.isna(gap) or abs(gap) < min_units or abs(gap) < min_share * abs(float(row.billed_units)):
            continue
        money = abs(gap) * float(row.unit_price)
        service = getattr(row, "service", None) or "units"
        if gap > 0:
            reason = (
                f"Supporting {row.supported_units:g} {service} but billing {row.billed_units:g}: bill the "
                f"{gap:g} extra at {_money(float(row.unit_price))} for {_money(money)}/month."
            )
        else:
            reason = (
                f"Billing {row.billed_units:g} {service} but supporting only {row.supported_units:g}: "
                f"{-gap:g} billed units ({_money(money)}/month) are no longer supported; correct the "
                f"agreement before the client asks for a credit."
            )
        rows.append(
            {
                "kind": "billing_drift",
                "subject_type": "agreement",
                "subject_id": str(row.agreement_id),
                "client_id": str(row.client_id),
                "monthly_impact": money,
                "reason": reason,
                "details": json.dumps(
                    {
                        "billed_units": float(row.billed_units),
                        "supported_units": float(row.supported_units),
                        "direction": "under_billed" if gap > 0 else "over_billed",
                    }
                ),
            }
        )
    return _frame(rows)


def rank(*recommendations: pd.DataFrame) -> pd.DataFrame:
    """All recommendations in one list, biggest monthly impact first, with `rank` from 1."""
    frames = [r for r in recommendations if r is not None and not r.empty]
    if not frames:
        empty = _frame([])  # typed, so a table written from it keeps numbers as numbers
        empty.insert(0, "rank", pd.Series(dtype="int64"))
        return empty
    ranked = pd.concat(frames, ignore_index=True).sort_values("monthly_impact", ascending=False, kind="stable")
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked.reset_index(drop=True)
