"""Known answers: a tiny hand-made estate (tests/known_answer_data.py) through the real pipeline,
and every MSP and IT figure of the marts checked against arithmetic done by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import PipelineRun
from tests.known_answer_data import FILES
from tests.support import throwaway_database

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> str:
    from orchestration.pipeline import run_job
    from pulseops_core.settings import Settings
    from pulseops_core.warehouse import resolve_database_url

    with throwaway_database() as url:
        run = PipelineRun(
            "known-answers", {"PULSEOPS_HOME": str(tmp_path_factory.mktemp("known-answers")), "DATABASE_URL": url}
        )
        with run.activate():
            store = run.store()
            for name, text in FILES.items():
                store.put_bytes(f"landing/{name}/{name.split('/')[1]}_2026-04-01.csv", text.encode())
            result = run_job("pulseops_job")
            # Four clients are too few to train on: the models say so instead of failing.
            failed = {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
            assert failed == set()
            assert resolve_database_url(Settings.from_env()) == url
        yield url


def rows(url: str, sql: str) -> list[dict]:
    """Rows as dicts, Decimals as floats."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        return [
            {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}
            for row in conn.execute(sql).fetchall()
        ]


def by_key(url: str, sql: str, *key: str) -> dict:
    return {tuple(row[k] for k in key) if len(key) > 1 else row[key[0]]: row for row in rows(url, sql)}


def check(actual: dict, **expected) -> None:
    for column, value in expected.items():
        if isinstance(value, float):
            assert actual[column] == pytest.approx(value, abs=1e-6), column
        else:
            assert actual[column] == value, column


# ---------------------------------------------------------------- MSP


def test_client_monthly_mrr(warehouse):
    mrr = by_key(warehouse, "select * from marts.client_monthly_mrr where month >= '2026-01-01'", "client_id", "month")
    jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    # January: AG1 1000; AG3 1800 + AG6 120; AG4 500; AG5 800
    assert {k: v["mrr"] for k, v in mrr.items() if k[1] == jan} == {
        ("C1", jan): 1000.0,
        ("C2", jan): 1920.0,
        ("C3", jan): 500.0,
        ("C4", jan): 800.0,
    }
    # February: C1 adds AG2 (220); C3 cancelled on 2026-02-20, before the month's end
    assert {k: v["mrr"] for k, v in mrr.items() if k[1] == feb} == {
        ("C1", feb): 1220.0,
        ("C2", feb): 1920.0,
        ("C4", feb): 800.0,
    }
    # March: C4 cancelled on 2026-03-10
    assert {k: v["mrr"] for k, v in mrr.items() if k[1] == mar} == {("C1", mar): 1220.0, ("C2", mar): 1920.0}
    assert mrr[("C1", feb)]["active_agreements"] == 2


def test_client_monthly_revenue_margin_and_rate(warehouse):
    months = by_key(warehouse, "select * from marts.client_monthly", "client_id", "month")
    # Months from the first invoice (March 2025) with activity: C2 and C4 in March 2025 and from their MRR on
    assert min(month for _, month in months) == date(2025, 3, 1)
    m = lambda client, y, mo: months[(client, date(y, mo, 1))]  # noqa: E731
    # C1 January: invoiced 1000; labour 2 h + 3 h at 50 = 250; resale AG1 10 x 4 = 40
    # margin 1000 - 250 - 40 = 710 (71.0 %); rate (1000 - 40) / 5 h = 192.00
    check(
        m("C1", 2026, 1),
        revenue=1000.0,
        labour_hours=5.0,
        labour_cost=250.0,
        resale_cost=40.0,
        gross_margin=710.0,
        gross_margin_pct=71.0,
        effective_hourly_rate=192.0,
        billable_hours=0.0,
    )
    # C1 February: 1000 + 220; 4 h at 40 = 160 (billable); resale 40 + AG2 10 x 17.6 = 216
    # margin 1220 - 160 - 216 = 844 (69.2 %); rate (1220 - 216) / 4 = 251.00; MRR and revenue +22.0 %
    check(
        m("C1", 2026, 2),
        revenue=1220.0,
        labour_cost=160.0,
        resale_cost=216.0,
        gross_margin=844.0,
        gross_margin_pct=69.2,
        effective_hourly_rate=251.0,
        billable_hours=4.0,
        mrr_mom_growth_pct=22.0,
        revenue_mom_growth_pct=22.0,
    )
    # C1 March: 1.5 h at 50 = 75; margin 1220 - 75 - 216 = 929 (76.1 %); rate 1004 / 1.5 = 669.33
    check(
        m("C1", 2026, 3),
        gross_margin=929.0,
        gross_margin_pct=76.1,
        effective_hourly_rate=669.33,
        mrr_mom_growth_pct=0.0,
    )
    # C2 January: 1920; 6 h at 40 = 240; resale AG3 20 x 4 + AG6 10 x 5.5 = 135
    # margin 1545 (80.5 %); rate 1785 / 6 = 297.50
    check(
        m("C2", 2026, 1),
        revenue=1920.0,
        labour_cost=240.0,
        resale_cost=135.0,
        gross_margin=1545.0,
        gross_margin_pct=80.5,
        effective_hourly_rate=297.5,
    )
    # C2 February: 8 h at 40 = 320; margin 1465 (76.3 %); rate 1785 / 8 = 223.125 -> 223.13
    check(m("C2", 2026, 2), gross_margin=1465.0, gross_margin_pct=76.3, effective_hourly_rate=223.13)
    # C2 March: 2.5 h at 50 = 125; margin 1660 (86.5 %); rate 1785 / 2.5 = 714.00
    # a year earlier only AG3 ran (1800): MRR and revenue +120 / 1800 = +6.7 %
    check(
        m("C2", 2026, 3),
        gross_margin=1660.0,
        gross_margin_pct=86.5,
        effective_hourly_rate=714.0,
        mrr_yoy_growth_pct=6.7,
        revenue_yoy_growth_pct=6.7,
    )
    # C2 March 2025: invoiced 1800, no labour: margin 1800 - 80 = 1720 (95.6 %), no rate
    check(m("C2", 2025, 3), revenue=1800.0, gross_margin=1720.0, gross_margin_pct=95.6, effective_hourly_rate=None)
    # C3 January: 500 - 4 h x 50 - 5 x 4 = 280 (56.0 %); rate 480 / 4 = 120.00
    check(m("C3", 2026, 1), gross_margin=280.0, gross_margin_pct=56.0, effective_hourly_rate=120.0)
    # C4 January: 800 - 5 h x 40 - 8 x 4 = 568 (71.0 %); rate 768 / 5 = 153.60
    check(m("C4", 2026, 1), gross_margin=568.0, gross_margin_pct=71.0, effective_hourly_rate=153.6)
    # C4 February: 800 - 2 h x 40 - 32 = 688 (86.0 %); rate 768 / 2 = 384.00
    check(m("C4", 2026, 2), gross_margin=688.0, gross_margin_pct=86.0, effective_hourly_rate=384.0)


def test_client_monthly_service_levels_csat_and_estate(warehouse):
    months = by_key(warehouse, "select * from marts.client_monthly", "client_id", "month")
    m = lambda client, mo: months[(client, date(2026, mo, 1))]  # noqa: E731
    # T1: answered in 1 h, resolved in 10 h, both SLAs met; CSAT 5; 1 ticket on 10 endpoints
    check(
        m("C1", 1),
        tickets_opened=1,
        p1_tickets=0,
        sla_response_pct=100.0,
        sla_resolution_pct=100.0,
        mean_time_to_respond_h=1.0,
        mean_time_to_resolve_h=10.0,
        csat_responses=1,
        csat_avg=5.0,
        managed_endpoints=10,
        tickets_per_endpoint=0.1,
        avg_patch_compliance_pct=95.0,
    )
    # T2 (P1): 2 h and 12 h, both SLAs missed; CSAT 3; no RMM snapshot in February
    check(
        m("C1", 2),
        tickets_opened=1,
        p1_tickets=1,
        sla_response_pct=0.0,
        sla_resolution_pct=0.0,
        mean_time_to_respond_h=2.0,
        mean_time_to_resolve_h=12.0,
        csat_avg=3.0,
        managed_endpoints=None,
        tickets_per_endpoint=None,
    )
    # T3 still open: response met (4 h), no resolution yet; 12 endpoints on 03-31, patch (90 + 92) / 2
    check(
        m("C1", 3),
        sla_response_pct=100.0,
        sla_resolution_pct=None,
        mean_time_to_respond_h=4.0,
        mean_time_to_resolve_h=None,
        managed_endpoints=12,
        tickets_per_endpoint=0.083,
        avg_patch_compliance_pct=91.0,
        avg_backup_success_pct=None,
    )
    # T4 (2 h, 24 h) and T5 (0.5 h, 2 h): means 1.25 h and 13 h; CSAT (4 + 5) / 2; 2 tickets / 20 endpoints;
    # patch (98 + 96) / 2 = 97, backup (99 + 97) / 2 = 98
    check(
        m("C2", 1),
        tickets_opened=2,
        sla_response_pct=100.0,
        mean_time_to_respond_h=1.25,
        mean_time_to_resolve_h=13.0,
        csat_avg=4.5,
        tickets_per_endpoint=0.1,
        avg_patch_compliance_pct=97.0,
        avg_backup_success_pct=98.0,
    )
    # T6: response missed (6 h > 4 h), resolved in 24 h within target; 1 / 22 endpoints = 0.045
    check(
        m("C2", 3),
        sla_response_pct=0.0,
        sla_resolution_pct=100.0,
        mean_time_to_respond_h=6.0,
        mean_time_to_resolve_h=24.0,
        managed_endpoints=22,
        tickets_per_endpoint=0.045,
        avg_backup_success_pct=100.0,
    )
    check(m("C3", 1), p1_tickets=1, sla_response_pct=0.0, mean_time_to_respond_h=3.0, csat_avg=2.0)
    check(
        m("C4", 2),
        p1_tickets=1,
        sla_resolution_pct=0.0,
        mean_time_to_resolve_h=24.0,
        csat_avg=1.0,
        managed_endpoints=8,
        tickets_per_endpoint=0.125,
    )


def test_clients(warehouse):
    clients = by_key(warehouse, "select * from marts.clients", "client_id")
    check(
        clients["C1"],
        is_active=True,
        churn_date=None,
        current_mrr=1220.0,
        active_services=2,
        managed_endpoints=12,
        tenure_months=9,
    )  # 2025-06-15 -> 2026-03-31
    check(clients["C2"], is_active=True, current_mrr=1920.0, active_services=2, managed_endpoints=22)
    check(clients["C3"], is_active=False, churn_date=date(2026, 2, 20), current_mrr=0.0)
    check(clients["C4"], is_active=False, churn_date=date(2026, 3, 10), managed_endpoints=8)


def test_agreements_profitability(warehouse):
    agreements = by_key(warehouse, "select * from marts.agreements", "agreement_id")
    # AG1: 3 invoices x 1000; resale 3 x 40 = 120; labour 2 + 3 + 4 + 1.5 = 10.5 h costing 485
    # margin 3000 - 485 - 120 = 2395 (79.8 %); rate 2880 / 10.5 = 274.29
    check(
        agreements["AG1"],
        billed_total=3000.0,
        resale_cost_total=120.0,
        labour_hours=10.5,
        labour_cost=485.0,
        gross_margin=2395.0,
        gross_margin_pct=79.8,
        effective_hourly_rate=274.29,
        is_active=True,
    )
    # AG3: 4 x 1800 = 7200; resale 4 x 80 = 320; 16.5 h costing 685; margin 6195 (86.0 %); rate 6880 / 16.5
    check(
        agreements["AG3"], billed_total=7200.0, gross_margin=6195.0, gross_margin_pct=86.0, effective_hourly_rate=416.97
    )
    # AG2: 2 x 220 = 440; resale 2 x 176 = 352; no labour: margin 88 (20.0 %), no rate
    check(agreements["AG2"], billed_total=440.0, gross_margin=88.0, gross_margin_pct=20.0, effective_hourly_rate=None)
    # AG5: 3 x 800 = 2400; resale 96; 7 h costing 280: margin 2024 (84.3 %); rate 2304 / 7 = 329.14
    check(agreements["AG5"], gross_margin=2024.0, gross_margin_pct=84.3, effective_hourly_rate=329.14, is_active=False)
    # AG6: 3 x 120 = 360; resale 3 x 55 = 165: margin 195 (54.2 %)
    check(agreements["AG6"], gross_margin=195.0, gross_margin_pct=54.2)
    check(agreements["AG4"], gross_margin=280.0, effective_hourly_rate=120.0, is_active=False)


def test_agreement_renewals(warehouse):
    renewals = by_key(warehouse, "select * from marts.agreement_renewals", "agreement_id")
    # running on 2026-03-31: AG1 (ends 2026-06-15: 76 days), AG2, AG3, AG6 (all later than 120 days)
    assert set(renewals) == {"AG1", "AG2", "AG3", "AG6"}
    check(renewals["AG1"], days_to_renewal=76, renewal_window="61-90 days", annual_value=12000.0)
    check(renewals["AG3"], days_to_renewal=285, renewal_window="later")


def test_billing_reconciliation(warehouse):
    billing = by_key(warehouse, "select * from marts.billing_reconciliation", "agreement_id")
    # only the running managed-services agreements; latest snapshots: C1 12 endpoints, C2 22
    assert set(billing) == {"AG1", "AG3"}
    check(
        billing["AG1"],
        billed_units=10,
        supported_units=12,
        unit_gap=2,
        unbilled_monthly_amount=200.0,
        status="under_billed",
    )  # 2 x 100
    check(
        billing["AG3"],
        billed_units=20,
        supported_units=22,
        unit_gap=2,
        unbilled_monthly_amount=180.0,
        status="under_billed",
    )  # 2 x 90


def test_churn_features_and_label(warehouse):
    features = by_key(warehouse, "select * from marts.client_churn_features", "client_id", "snapshot_month")
    # snapshots from March 2025 (the history's first month) at each month end with managed services:
    # C1 June 2025 - March 2026 (10), C2 March 2025 - March 2026 (13), C3 December - January (2),
    # C4 March 2025 - February 2026 (12)
    assert len(features) == 10 + 13 + 2 + 12
    positives = sorted(key for key, row in features.items() if row["churns_within_90d"])
    # C3 left on 2026-02-20: 51 days after 2025-12-31, 20 after 2026-01-31;
    # C4 left on 2026-03-10: within 90 days of December, January and February's ends (not of 2025-11-30: 100 days)
    assert positives == [
        ("C3", date(2025, 12, 1)),
        ("C3", date(2026, 1, 1)),
        ("C4", date(2025, 12, 1)),
        ("C4", date(2026, 1, 1)),
        ("C4", date(2026, 2, 1)),
    ]
    # observable: 90 days after the month end have passed by 2026-03-31 (month ends up to 2025-12-31),
    # or the client has left
    unobservable = sorted(key for key, row in features.items() if not row["outcome_observable"])
    assert unobservable == [(c, date(2026, m, 1)) for c in ("C1", "C2") for m in (1, 2, 3)]
    # C3 in January: T7 (P1, response missed, 2 reopens, CSAT 2); the January invoice paid late
    check(
        features[("C3", date(2026, 1, 1))],
        mrr=500.0,
        mrr_3m_ago=0.0,
        mrr_change_3m_pct=None,
        tickets_3m=1,
        p1_tickets_3m=1,
        sla_response_misses_3m=1,
        sla_miss_rate_3m=1.0,
        reopens_3m=2,
        csat_avg_3m=2.0,
        invoices_due_3m=1,
        late_payments_3m=1,
        tenure_months=1,
        active_services=1,
    )
    # C4 in February: T8 and T9 (one P1, one miss); CSAT 1; January's invoice late, February's falls due in March
    check(
        features[("C4", date(2026, 2, 1))],
        mrr=800.0,
        mrr_3m_ago=800.0,
        mrr_change_3m_pct=0.0,
        tickets_3m=2,
        tickets_3m_change=2,
        p1_tickets_3m=1,
        sla_miss_rate_3m=0.5,
        csat_avg_3m=1.0,
        invoices_due_3m=1,
        late_payments_3m=1,
        managed_endpoints=8,
        avg_patch_compliance_pct=80.0,
    )
    # C1 in March: MRR 1220 against 1000 in December (+22.0 %); T1, T2 and T3 in January to March, none in
    # October to December; five invoices due, all paid in time (March's is due on the as-of day itself)
    check(
        features[("C1", date(2026, 3, 1))],
        mrr=1220.0,
        mrr_change_3m_pct=22.0,
        tickets_3m=3,
        tickets_3m_change=3,
        active_services=2,
        invoices_due_3m=5,
        late_payments_3m=0,
    )


# ---------------------------------------------------------------- IT


def test_subscription_utilisation(warehouse):
    subscriptions = by_key(warehouse, "select * from marts.subscription_utilisation", "subscription_id")
    # usage judged on 2026-03-31: active in 30 days = a day after 03-01, 60 after 01-30, 90 after 2025-12-31
    # SUB1 (5 seats at 15): E1 active 03-31, E2 last 02-20, E3 last 01-10, E4 never (new)
    check(
        subscriptions["SUB1"],
        seats_purchased=5,
        seats_assigned=4,
        seats_active_30d=1,
        seats_active_60d=2,
        seats_active_90d=3,
        utilisation_pct=20.0,
        monthly_cost=75.0,
        wasted_monthly_cost=60.0,  # (5 - 1) x 15
        seats_unassigned=1,
    )
    # SUB2 (4 at 12): E1 active 03-31, E5 last 01-05; E2 handed the seat back
    check(
        subscriptions["SUB2"],
        seats_assigned=2,
        seats_active_30d=1,
        seats_active_60d=1,
        seats_active_90d=2,
        utilisation_pct=25.0,
        monthly_cost=48.0,
        wasted_monthly_cost=36.0,
    )  # (4 - 1) x 12
    # SUB3 (10 at 8): E1 active, E5 never
    check(
        subscriptions["SUB3"],
        seats_assigned=2,
        seats_active_30d=1,
        utilisation_pct=10.0,
        monthly_cost=80.0,
        wasted_monthly_cost=72.0,
    )  # (10 - 1) x 8


def test_inactive_licences(warehouse):
    inactive = by_key(warehouse, "select * from marts.inactive_licences", "licence_key")
    # E4's and E5's SUB3 seats are younger than 30 days: not judged
    assert set(inactive) == {"SUB1|E2", "SUB1|E3", "SUB2|E5"}
    check(inactive["SUB1|E2"], reason="stopped_using", days_inactive=39, wasted_monthly_cost=15.0)  # 02-20 -> 03-31
    check(inactive["SUB1|E3"], reason="left_company", days_inactive=80, wasted_monthly_cost=15.0)  # 01-10 -> 03-31
    check(inactive["SUB2|E5"], reason="stopped_using", days_inactive=85, wasted_monthly_cost=12.0)  # 01-05 -> 03-31
    assert sum(row["wasted_monthly_cost"] for row in inactive.values()) == 42.0


def test_subscription_renewals(warehouse):
    renewals = by_key(warehouse, "select * from marts.subscription_renewals", "subscription_id")
    # needed = held seats not inactive; recommended = ceil(needed x 1.10)
    # SUB1: 4 - 2 = 2 -> 3; cut 5 - 3 = 2 x 15 = 30 a month; renews 2026-04-20, 20 days on
    check(
        renewals["SUB1"],
        seats_needed=2,
        recommended_seats=3,
        seats_to_remove=2,
        monthly_saving=30.0,
        annual_saving=360.0,
        days_to_renewal=20,
        renewal_window="0-30 days",
    )
    # SUB2: 2 - 1 = 1 -> 2; cut 2 x 12 = 24; 62 days
    check(
        renewals["SUB2"],
        seats_needed=1,
        recommended_seats=2,
        seats_to_remove=2,
        monthly_saving=24.0,
        days_to_renewal=62,
        renewal_window="61-90 days",
    )
    # SUB3: 2 -> 3; cut 7 x 8 = 56; 15 days
    check(
        renewals["SUB3"],
        seats_needed=2,
        recommended_seats=3,
        seats_to_remove=7,
        monthly_saving=56.0,
        days_to_renewal=15,
        renewal_window="0-30 days",
    )


def test_duplicate_applications(warehouse):
    pairs = rows(warehouse, "select * from marts.duplicate_applications")
    # Zoom holders E1, E2, E3, E4; Webex holders E1, E5 (E2 handed it back): one shared user;
    # Jira shares E1 and E5 with Webex but is another category
    assert len(pairs) == 1
    check(
        pairs[0],
        application_id_a="APP1",
        application_id_b="APP2",
        users_a=4,
        users_b=2,
        overlapping_users=1,
        overlap_share=0.5,
        potential_monthly_saving=12.0,
    )  # 1 / min(4, 2); 1 x min(15, 12)


def test_employees_and_applications(warehouse):
    employees = by_key(warehouse, "select * from marts.employees", "employee_id")
    check(
        employees["E1"],
        seats_held=3,
        inactive_seats=0,
        monthly_licence_cost=35.0,  # 15 + 12 + 8
        saas_last_active_date=date(2026, 3, 31),
        m365_last_activity_date=date(2026, 3, 31),
        m365_assigned_products="MICROSOFT 365 E3",
        is_employed=True,
    )
    check(employees["E3"], seats_held=1, inactive_seats=1, monthly_licence_cost=15.0, is_employed=False)
    check(employees["E5"], seats_held=2, inactive_seats=1, monthly_licence_cost=20.0)
    applications = by_key(warehouse, "select * from marts.applications", "application_id")
    check(
        applications["APP1"],
        subscriptions=1,
        seats_purchased=5,
        seats_active_30d=1,
        utilisation_pct=20.0,
        monthly_cost=75.0,
        annual_cost=900.0,
        wasted_monthly_cost=60.0,
    )
    usage = by_key(warehouse, "select * from marts.application_daily_usage", "usage_date", "application_id")
    check(usage[(date(2026, 3, 31), "APP1")], users_reported=2, active_users=1, activity_count=3)


def test_department_daily_spend(warehouse):
    spend = by_key(warehouse, "select * from marts.department_daily_spend", "charge_date", "department")
    d29, d30, d31 = date(2026, 3, 29), date(2026, 3, 30), date(2026, 3, 31)
    assert {k: v["billed_cost"] for k, v in spend.items()} == {
        (d29, "Engineering"): 120.5,  # EC2 100 + S3 20.50
        (d29, "Sales"): 40.0,
        (d30, "Engineering"): 110.0,
        (d30, "Unallocated"): 5.25,  # no department tag
        (d31, "Engineering"): 120.0,
        (d31, "Sales"): 44.0,
    }
    assert spend[(d29, "Engineering")]["effective_cost"] == 110.5  # 90 + 20.50
    assert spend[(d29, "Engineering")]["cost_rows"] == 2


def test_daily_spend_from_focus_and_subscriptions(warehouse):
    spend = rows(warehouse, "select * from marts.daily_spend")
    cloud = sum(r["billed_cost"] for r in spend if r["spend_source"] == "cloud")
    saas = {(r["spend_date"], r["application"]): r["billed_cost"] for r in spend if r["spend_source"] == "saas"}
    assert cloud == pytest.approx(439.75)  # 120.50 + 40 + 110 + 5.25 + 120 + 44
    # subscriptions run over the cost data's days (03-29 to 03-31), a month's cost spread over March's 31 days
    assert saas[(date(2026, 3, 29), "Zoom Workplace Pro")] == pytest.approx(75 / 31)  # 5 seats x 15
    assert saas[(date(2026, 3, 31), "Jira Software")] == pytest.approx(80 / 31)  # 10 x 8
    assert len(saas) == 3 * 3
    ec2 = [r for r in spend if r["application"] == "Amazon EC2" and r["spend_date"] == date(2026, 3, 30)]
    check(ec2[0], department="Engineering", provider="AWS", vendor="AWS", billed_cost=110.0, category="Compute")


def test_budget_vs_actual(warehouse):
    budget = by_key(warehouse, "select * from marts.budget_vs_actual", "department", "month")
    march = date(2026, 3, 1)
    # Engineering: cloud 120.50 + 110 + 120 = 350.50; SaaS (48 + 80) x 3 / 31 = 12.39; budget 60000 (from 2026)
    check(
        budget[("Engineering", march)],
        cloud_cost=350.5,
        saas_cost=12.39,
        actual_cost=362.89,
        budget=60000.0,
        variance=-59637.11,
        variance_pct=-99.4,
        is_partial_month=False,
        projected_cost=362.89,
    )
    # Sales: cloud 84; SaaS 75 x 3 / 31 = 7.26; budget 9000
    check(budget[("Sales", march)], cloud_cost=84.0, saas_cost=7.26, actual_cost=91.26, budget=9000.0)
    # untagged spend has no budget; a budgeted department without spend shows its budget unspent
    check(budget[("Unallocated", march)], actual_cost=5.25, budget=None, variance=None)
    check(budget[("Finance", march)], actual_cost=0.0, budget=13000.0, variance=-13000.0)


def test_models_that_cannot_learn_from_four_clients_say_why(warehouse):
    states = {
        row["model"]: (row["state"], row["reason"])
        for row in rows(warehouse, "select model, state, reason from reporting.model_status")
    }
    # C3 and C4 churned; their December snapshots are the only positives whose 90 days have passed
    assert states["churn"] == ("not trained", "not enough churn history yet: 2 churned clients, need 10")
    # three days of cloud costs in March: not one whole month
    assert states["spend_forecast"] == ("not trained", "no spend to forecast yet: not one whole month of data")
    assert states["client_health"] == (
        "computed",
        "needs no training: 2 active clients scored from the factors they have data for",
    )
    assert rows(warehouse, "select count(*) as n from reporting.client_churn_risk") == [{"n": 0}]
