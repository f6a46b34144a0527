"""Data at the edges through the whole pipeline: one client with one month of history and no use
of any licence, and a new customer's estate with a client that raised no ticket, a department
with no spend and a month with no invoices. Nothing raises, and each edge shows as what it is."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.known_answer_data import FILES
from tests.small_portfolios import NEW_CUSTOMER, backend, demo_frames, focus_department, run_pipeline
from tests.support import query, scalar

pytestmark = pytest.mark.filterwarnings("ignore")

# One client onboarded on 2026-03-01, one agreement, one invoice, one ticket; the data ends on
# 2026-03-31. The IT side is the known-answer estate's, with every usage row showing no activity.
ONE_CLIENT_ONE_MONTH = {
    "psa/clients": "client_id,client_name,industry,segment,region,onboarded_date,employee_count\n"
    "C1,Alpha Dental,Healthcare,SMB,North,2026-03-01,20\n",
    "psa/agreements": "agreement_id,client_id,agreement_type,start_date,end_date,monthly_amount,units,unit_price,"
    "cancelled,cancelled_date,cancellation_reason,unit_cost\n"
    "AG1,C1,managed_services,2026-03-01,2027-03-01,1000,10,100,false,,,4\n",
    "psa/invoices": "invoice_id,client_id,agreement_id,issued_date,due_date,paid_date,amount\n"
    "INV1,C1,AG1,2026-03-01,2026-03-31,2026-03-10,1000\n",
    "psa/tickets": "ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,"
    "sla_response_met,sla_resolution_met,reopen_count\n"
    "T1,C1,P2,Email,2026-03-05 08:00:00,2026-03-05 09:00:00,2026-03-05 18:00:00,true,true,0\n",
    "psa/time_entries": "time_entry_id,ticket_id,client_id,agreement_id,technician_id,started_at,hours,billable,"
    "cost_rate\nTE1,T1,C1,AG1,TECH1,2026-03-05 09:00:00,2,false,50\n",
    "psa/csat_responses": "response_id,client_id,ticket_id,responded_at,score\nCS1,C1,T1,2026-03-06 10:00:00,5\n",
    "rmm/device_snapshots": "client_id,snapshot_date,managed_endpoints,patch_compliance_pct,backup_success_pct\n"
    "C1,2026-03-31,10,95.0,99.0\n",
    **{
        name: FILES[name]
        for name in (
            "hr/employees",
            "saas/applications",
            "saas/subscriptions",
            "saas/licence_assignments",
            "m365/active_user_detail",
            "focus/costs",
        )
    },
}


def _no_activity(usage_csv: str) -> str:
    """The usage file with every row showing no activity."""
    header, *rows = usage_csv.strip().splitlines()
    return "\n".join([header, *(",".join(row.split(",")[:3] + ["false", "0"]) for row in rows)]) + "\n"


def _states(url: str) -> dict[str, tuple[str, str]]:
    return {
        model: (state, reason)
        for model, state, reason in query(url, "select model, state, reason from reporting.model_status")
    }


@pytest.fixture(scope="module")
def one_client(tmp_path_factory):
    frames = {**ONE_CLIENT_ONE_MONTH, "saas/daily_usage": _no_activity(FILES["saas/daily_usage"])}
    with backend("external", tmp_path_factory.mktemp("one-client")) as run:
        result = run_pipeline(run, frames)
        yield run.database_url, [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]


@pytest.fixture(scope="module")
def gaps(tmp_path_factory):
    frames, truth = demo_frames(NEW_CUSTOMER)
    quiet_client = sorted(frames["psa/clients"]["client_id"])[0]
    for name in ("psa/tickets", "psa/time_entries", "psa/csat_responses"):
        frames[name] = frames[name][frames[name]["client_id"] != quiet_client]
    costs = frames["focus/costs"]
    frames["focus/costs"] = costs[costs["Tags"].map(focus_department) != "Finance"]
    invoices = frames["psa/invoices"]
    frames["psa/invoices"] = invoices[pd.to_datetime(invoices["issued_date"]).dt.strftime("%Y-%m") != "2026-09"]
    frames["saas/daily_usage"] = frames["saas/daily_usage"].assign(active=False, activity_count=0)
    with backend("external", tmp_path_factory.mktemp("gaps")) as run:
        result = run_pipeline(run, frames)
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        yield run.database_url, failed, quiet_client


def test_one_client_one_month_runs_through(one_client):
    url, failed = one_client
    assert failed == []
    assert query(url, "select client_id, is_active, current_mrr::float from marts.clients") == [("C1", True, 1000.0)]
    assert query(url, "select month, revenue::float from marts.client_monthly") == [
        (pd.Timestamp("2026-03-01").date(), 1000.0)
    ]
    health = query(url, "select client_id, health_score, csat_score from reporting.client_health")
    assert len(health) == 1 and health[0][0] == "C1" and 0 <= health[0][1] <= 100 and health[0][2] == 5.0


def test_one_client_one_month_models_say_why_they_wait(one_client):
    url, _ = one_client
    states = _states(url)
    assert states["churn"] == (
        "not trained",
        "no churn outcomes known yet: no snapshot is old enough for its outcome to have played out",
    )
    # three days of cloud costs: not one whole month
    assert states["spend_forecast"] == ("not trained", "no spend to forecast yet: not one whole month of data")
    assert states["client_health"] == (
        "computed",
        "needs no training: 1 active client scored from the factors they have data for",
    )
    assert scalar(url, "select count(*) from reporting.department_spend_forecast") == 0


def test_usage_with_no_activity_makes_every_held_seat_idle(one_client):
    url, _ = one_client
    assert scalar(url, "select sum(seats_active_30d) from marts.subscription_utilisation") == 0
    # SUB1: E1, E2 and E3 hold seats assigned in 2025 (E4's, from 2026-03-20, is too new to judge)
    reclaim = query(
        url,
        "select subject_id, details from reporting.recommendations where kind = 'reclaim_inactive_seats' order by 1",
    )
    assert [(subject, json.loads(details)["seats"]) for subject, details in reclaim][0] == ("SUB1", 3)


def test_gaps_run_through(gaps):
    url, failed, _ = gaps
    assert failed == []
    assert set(_states(url)) == {"churn", "spend_anomalies", "client_health", "spend_forecast", "recommendations"}


def test_a_client_without_tickets_is_scored_on_its_other_factors(gaps):
    url, _, quiet_client = gaps
    row = query(
        url,
        "select health_score, sla_compliance, csat_score, factors_available "
        "from reporting.client_health where client_id = %s",
        (quiet_client,),
    )
    assert len(row) == 1
    score, sla, csat, factors = row[0]
    assert 0 <= score <= 100 and sla is None and csat is None and factors < 6
    assert (
        scalar(
            url,
            "select coalesce(sum(tickets_opened), 0) from marts.client_monthly where client_id = %s",
            (quiet_client,),
        )
        == 0
    )


def test_a_department_without_spend_is_absent_not_zero(gaps):
    url, _, _ = gaps
    departments = {d for (d,) in query(url, "select distinct department from marts.department_daily_spend")}
    assert "Finance" not in departments and len(departments) == 6
    assert scalar(url, "select count(*) from ml.spend_anomalies where department = 'Finance'") == 0


def test_a_month_without_invoices_has_no_revenue_but_keeps_its_mrr(gaps):
    url, _, _ = gaps
    september = query(
        url,
        "select coalesce(sum(revenue), 0)::float, sum(mrr)::float from marts.client_monthly where month = '2026-09-01'",
    )[0]
    assert september[0] == 0.0 and september[1] > 0
    assert scalar(url, "select sum(revenue)::float from marts.client_monthly where month = '2026-10-01'") > 0
