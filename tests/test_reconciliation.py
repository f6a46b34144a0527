"""Money reconciles from the delivered files to the marts, per month and client or department:
nothing is lost on the way and nothing is counted twice."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.support import query


def _frame(url: str, sql: str) -> pd.DataFrame:
    import psycopg

    from orchestration.dataframes import read_frame

    with psycopg.connect(url) as conn:
        return read_frame(conn, sql)


def _month(values) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def _assert_same(expected: pd.Series, mart: pd.Series, what: str) -> None:
    expected, mart = expected[expected != 0].sort_index(), mart[mart != 0].sort_index()
    assert list(mart.index) == list(expected.index), f"{what}: keys differ"
    difference = (mart - expected).abs()
    assert difference.max() < 0.005, f"{what}: worst key {difference.idxmax()} off by {difference.max()}"


def test_invoices_reconcile_with_client_month_revenue(pipeline):
    invoices = pipeline.landing["psa/invoices"]
    expected = invoices.groupby(["client_id", _month(invoices["issued_date"])])["amount"].sum()
    mart = _frame(pipeline.database_url, "select client_id, month, revenue, invoices_issued from marts.client_monthly")
    mart["month"] = pd.to_datetime(mart["month"])
    revenue = mart.set_index(["client_id", "month"])["revenue"]
    _assert_same(expected, revenue, "revenue per client and month")
    counts = invoices.groupby(["client_id", _month(invoices["issued_date"])]).size()
    assert (
        mart.set_index(["client_id", "month"])["invoices_issued"]
        .pipe(lambda s: s[s > 0])
        .sort_index()
        .equals(counts.sort_index())
    )
    # and per agreement over its life
    agreements = _frame(pipeline.database_url, "select agreement_id, billed_total from marts.agreements")
    _assert_same(
        invoices.groupby("agreement_id")["amount"].sum(),
        agreements.set_index("agreement_id")["billed_total"],
        "billed per agreement",
    )


def test_time_entries_reconcile_with_client_month_labour(pipeline):
    entries = pipeline.landing["psa/time_entries"]
    entries = entries.assign(cost=entries["hours"] * entries["cost_rate"], month=_month(entries["started_at"]))
    mart = _frame(pipeline.database_url, "select client_id, month, labour_hours, labour_cost from marts.client_monthly")
    mart = mart.assign(month=pd.to_datetime(mart["month"])).set_index(["client_id", "month"])
    grouped = entries.groupby([entries["client_id"].astype(str), "month"])
    _assert_same(grouped["hours"].sum(), mart["labour_hours"], "labour hours per client and month")
    # labour_cost is rounded to cents per client-month
    expected_cost = grouped["cost"].sum()
    actual_cost = mart["labour_cost"][mart["labour_cost"] != 0].sort_index()
    assert list(actual_cost.index) == list(expected_cost[expected_cost != 0].sort_index().index)
    assert (actual_cost - expected_cost.reindex(actual_cost.index)).abs().max() <= 0.005 + 1e-9


def test_focus_costs_reconcile_with_department_daily_spend(pipeline):
    costs = pipeline.landing["focus/costs"]
    costs = costs.assign(
        department=costs["Tags"].map(lambda tags: json.loads(tags).get("department", "Unallocated")),
        charge_date=pd.to_datetime(costs["ChargePeriodStart"]).dt.tz_localize(None).dt.normalize(),
    )
    expected = costs.groupby(["department", "charge_date"])["BilledCost"].sum()
    mart = _frame(
        pipeline.database_url,
        "select department, charge_date, billed_cost, cost_rows from marts.department_daily_spend",
    )
    mart = mart.assign(charge_date=pd.to_datetime(mart["charge_date"])).set_index(["department", "charge_date"])
    _assert_same(expected, mart["billed_cost"], "FOCUS billed cost per department and day")
    assert mart["cost_rows"].sum() == len(costs)
    # the cloud part of all IT spend is the same money, by department and day
    cloud = _frame(
        pipeline.database_url,
        "select department, spend_date, sum(billed_cost) as billed_cost "
        "from marts.daily_spend where spend_source = 'cloud' group by 1, 2",
    )
    cloud = cloud.assign(spend_date=pd.to_datetime(cloud["spend_date"])).set_index(["department", "spend_date"])
    _assert_same(expected, cloud["billed_cost"], "cloud spend per department and day")


def test_budget_vs_actual_adds_up_all_spend(pipeline):
    subscriptions = pipeline.landing["saas/subscriptions"]
    costs = pipeline.landing["focus/costs"]
    days = pd.to_datetime(costs["ChargePeriodStart"]).dt.tz_localize(None).dt.normalize()
    months = pd.period_range(days.min(), days.max(), freq="M")
    budget = _frame(
        pipeline.database_url,
        "select department, month, actual_cost, cloud_cost, saas_cost from marts.budget_vs_actual",
    )
    assert budget["actual_cost"].sum() == pytest.approx(
        budget["cloud_cost"].sum() + budget["saas_cost"].sum(), abs=0.01 * len(budget)
    )
    assert budget["cloud_cost"].sum() == pytest.approx(costs["BilledCost"].sum(), abs=0.01 * len(budget))
    # every full month a subscription ran in the cost history costs exactly seats x price
    full_months = months[1:-1]
    saas = budget.assign(month=pd.to_datetime(budget["month"]).dt.to_period("M"))
    saas = saas[saas["month"].isin(full_months)].groupby("department")["saas_cost"].sum()
    started = pd.to_datetime(subscriptions["start_date"]).dt.to_period("M")
    expected = {}
    for row, start in zip(subscriptions.itertuples(), started, strict=True):
        running = [m for m in full_months if m > start]
        expected[row.department] = (
            expected.get(row.department, 0) + len(running) * row.seats_purchased * row.price_per_seat_month
        )
    for department, amount in expected.items():
        assert saas.get(department, 0) == pytest.approx(amount, abs=0.01 * len(full_months) + 0.01), department


def test_mrr_is_counted_once(pipeline):
    """client_monthly carries the same MRR as client_monthly_mrr for every month of the history."""
    rows = query(
        pipeline.database_url,
        """
        select count(*), coalesce(sum(abs(coalesce(a.mrr, 0) - coalesce(b.mrr, 0))), 0)
        from marts.client_monthly as a
        full join (select * from marts.client_monthly_mrr
                   where month between (select min(month) from marts.client_monthly)
                       and (select max(month) from marts.client_monthly)) as b
            on a.client_id = b.client_id and a.month = b.month
        where coalesce(a.mrr, 0) <> coalesce(b.mrr, 0)""",
    )
    assert rows[0][0] == 0, rows


def test_planted_signals_surface_in_the_marts(pipeline):
    """What the demo generator planted shows up where the dashboards look for it."""
    truth = pipeline.truth
    billing = {
        row[0]: row[1:]
        for row in query(
            pipeline.database_url,
            "select agreement_id, billed_units, supported_units, status from marts.billing_reconciliation",
        )
    }
    drifting = [d for d in truth["billing_drift"] if d["agreement_id"] in billing]
    assert drifting
    for drift in drifting:
        assert billing[drift["agreement_id"]] == (drift["billed_units"], drift["supported_units"], "under_billed")
    inactive = {row[0] for row in query(pipeline.database_url, "select licence_key from marts.inactive_licences")}
    idle = {f"{seat['subscription_id']}|{seat['employee_id']}" for seat in truth["inactive_assignments"]}
    assert idle and idle <= inactive
    pairs = {
        (a, b): users
        for a, b, users in query(
            pipeline.database_url,
            "select application_id_a, application_id_b, overlapping_users from marts.duplicate_applications",
        )
    }
    for pair in truth["duplicate_app_pairs"]:
        assert pairs[tuple(pair["application_ids"])] == pair["overlapping_users"]
    churned = dict(
        query(pipeline.database_url, "select client_id, churn_date from marts.clients where churn_date is not null")
    )
    assert {c["client_id"]: c["churn_date"] for c in truth["churners"]} == {k: str(v) for k, v in churned.items()}
