"""Recommendations on tiny hand-made cases whose money can be worked out by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ml_assets import recommendations as rec

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it

AS_OF = pd.Timestamp("2026-11-25")


def days_ago(n: int | None):
    return None if n is None else AS_OF - pd.Timedelta(days=n)


@pytest.fixture
def seats() -> pd.DataFrame:
    rows = [  # (subscription, employee, assigned days ago, last active days ago)
        ("S1", "e1", 400, 1),
        ("S1", "e2", 300, 45),
        ("S1", "e3", 100, None),
        ("S1", "e4", 5, None),
        ("S2", "e1", 200, 2),
        ("S2", "e5", 200, 3),
    ]
    return pd.DataFrame(
        [
            {
                "subscription_id": s,
                "employee_id": e,
                "assigned_date": days_ago(a),
                "last_active_date": days_ago(last),
                "monthly_price": 10.0 if s == "S1" else 25.0,
                "application_name": "Zoom" if s == "S1" else "Figma",
            }
            for s, e, a, last in rows
        ]
    )


def test_reclaim_counts_idle_seats_but_not_new_ones(seats):
    result = rec.reclaim_inactive_seats(seats, AS_OF, inactive_days=30)
    assert len(result) == 1
    row = result.iloc[0]
    # e2 idle 45 days, e3 never used; e4 never used but assigned 5 days ago.
    assert row["subject_id"] == "S1" and row["monthly_impact"] == 20.0
    assert row["reason"] == "2 Zoom seats unused for 30+ days (1 never used): reclaim them to save $20.00/month."
    assert json.loads(row["details"])["employee_ids"] == ["e2", "e3"]
    stricter = rec.reclaim_inactive_seats(seats, AS_OF, inactive_days=60)
    assert stricter["monthly_impact"].tolist() == [10.0]  # only e3; e2 was active 45 days ago


def test_right_size_keeps_the_active_seats_plus_a_buffer():
    subscriptions = pd.DataFrame(
        [
            {
                "subscription_id": "S9",
                "application_name": "Slack",
                "seats_purchased": 15,
                "monthly_price": 8.0,
                "renewal_date": AS_OF + pd.Timedelta(days=30),
            },
            {
                "subscription_id": "S8",
                "application_name": "Jira",
                "seats_purchased": 40,
                "monthly_price": 7.0,
                "renewal_date": AS_OF + pd.Timedelta(days=200),
            },
        ]
    )
    seats = pd.DataFrame(
        {
            "subscription_id": ["S9"] * 12 + ["S8"] * 5,
            "last_active_date": [days_ago(3)] * 10 + [days_ago(90)] * 2 + [days_ago(1)] * 5,
        }
    )
    result = rec.right_size_at_renewal(subscriptions, seats, AS_OF)
    assert result["subject_id"].tolist() == ["S9"]  # Jira renews beyond the 120-day window
    # 10 active + 10% = 11 needed; 15 - 11 = 4 seats at 8.
    assert result["monthly_impact"].iloc[0] == 32.0
    assert "renew 11 (10 + 10% buffer)" in result["reason"].iloc[0]
    wider = rec.right_size_at_renewal(subscriptions, seats, AS_OF, buffer=0.25)
    assert wider["monthly_impact"].iloc[0] == 16.0  # 13 needed, 2 spare


def test_duplicate_apps_drop_the_smaller_one_for_people_holding_both():
    applications = pd.DataFrame(
        {
            "application_id": ["A", "B", "C"],
            "application_name": ["Zoom", "Webex", "Jira"],
            "category": ["Video", "Video", "Tracking"],
        }
    )
    seats = pd.DataFrame(
        {
            "application_id": list("AAAAABBBC"),
            "employee_id": ["e1", "e2", "e3", "e4", "e5", "e4", "e5", "e6", "e1"],
            "monthly_price": [12.0] * 5 + [15.0] * 3 + [7.0],
        }
    )
    result = rec.consolidate_duplicate_apps(seats, applications)
    assert len(result) == 1
    row = result.iloc[0]
    assert row["subject_id"] == "A|B" and row["monthly_impact"] == 30.0  # e4 and e5 drop Webex at 15
    details = json.loads(row["details"])
    assert details["full_consolidation_monthly"] == 45.0 and details["overlapping_users"] == 2
    assert row["reason"].startswith("2 people hold both Zoom and Webex (Video)")


def test_upsell_prices_gaps_from_peers_and_from_ticket_demand():
    clients = pd.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(1, 9)],
            "segment": ["SMB"] * 6 + ["Enterprise"] * 2,
            "employees": [10, 20, 10, 10, 10, 20, 100, 100],
        }
    )
    services = pd.DataFrame(
        [
            *[{"client_id": f"c{i}", "service": "managed_services", "monthly_amount": 1000.0} for i in range(1, 9)],
            {"client_id": "c1", "service": "backup", "monthly_amount": 100.0},
            {"client_id": "c2", "service": "backup", "monthly_amount": 240.0},
            {"client_id": "c3", "service": "backup", "monthly_amount": 140.0},
            {"client_id": "c4", "service": "backup", "monthly_amount": 160.0},
            {"client_id": "c1", "service": "security", "monthly_amount": 50.0},
            {"client_id": "c8", "service": "security", "monthly_amount": 300.0},
        ]
    )
    tickets = pd.DataFrame({"client_id": ["c7", "c7", "c7", "c5"], "category": ["Security"] * 3 + ["Email"]})
    result = rec.upsell_opportunities(services, clients, tickets)
    found = result.set_index("subject_id")["monthly_impact"].to_dict()
    # c5 and c6: 4 of their 5 SMB peers buy backup, median 150; c7: 3 security tickets, its peer pays 300.
    assert found == {"c5|backup": 150.0, "c6|backup": 150.0, "c7|security": 300.0}
    assert "80% of 5 similar clients (SMB) buy backup" in result.set_index("subject_id").at["c5|backup", "reason"]
    assert "3 recent tickets about security" in result.set_index("subject_id").at["c7|security", "reason"]
    per_employee = rec.upsell_opportunities(services, clients, tickets, size_column="employees")
    # Backup per employee among c5's peers: 10, 12, 14, 16 -> median 13; c6 has 20 employees.
    assert per_employee.set_index("subject_id").at["c6|backup", "monthly_impact"] == 260.0


def test_churn_prevention_ranks_by_mrr_at_risk():
    scores = pd.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "churn_probability": [0.5, 0.9, 0.1],
            "mrr": [4000.0, 1000.0, 9000.0],
            "drivers": [json.dumps([{"feature": "csat_score", "value": 3.1, "effect": 0.2}]), None, None],
        }
    )
    result = rec.churn_prevention(scores)
    assert result["subject_id"].tolist() == ["a", "b"]  # c is below the 20% floor
    assert result["monthly_impact"].tolist() == [2000.0, 900.0]
    assert result["reason"].iloc[0] == (
        "50% chance of cancelling within 90 days on $4,000 MRR: $2,000/month at risk; driven by csat_score (3.1)."
    )


def test_billing_drift_in_both_directions():
    billing = pd.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "agreement_id": ["G1", "G2", "G3"],
            "billed_units": [50, 50, 20],
            "supported_units": [58, 44, 20],
            "unit_price": [95.0, 95.0, 95.0],
            "service": ["devices"] * 3,
        }
    )
    result = rec.billing_drift(billing)
    assert result["subject_id"].tolist() == ["G1", "G2"]
    assert result["monthly_impact"].tolist() == [760.0, 570.0]
    assert result["reason"].iloc[0] == (
        "Supporting 58 devices but billing 50: bill the 8 extra at $95.00 for $760/month."
    )
    assert json.loads(result["details"].iloc[1])["direction"] == "over_billed"
    # G1 is 16% off and G2 12%: a 15% floor keeps only G1
    assert rec.billing_drift(billing, min_share=0.15)["subject_id"].tolist() == ["G1"]


def test_everything_ranks_together_by_money(seats):
    ranked = rec.rank(
        rec.reclaim_inactive_seats(seats, AS_OF),
        rec.billing_drift(
            pd.DataFrame(
                {
                    "client_id": ["a"],
                    "agreement_id": ["G1"],
                    "billed_units": [10],
                    "supported_units": [11],
                    "unit_price": [95.0],
                }
            )
        ),
        rec.churn_prevention(pd.DataFrame(columns=["client_id", "churn_probability", "mrr"])),
    )
    assert ranked["rank"].tolist() == [1, 2]
    assert ranked["kind"].tolist() == ["billing_drift", "reclaim_inactive_seats"]
    assert list(ranked.columns) == ["rank", *rec.COLUMNS]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="last_active_date"):
        rec.reclaim_inactive_seats(pd.DataFrame({"subscription_id": []}), AS_OF)
