"""Known answers through mapping profiles: each shipped profile's export (tests/data/profiles/, written
from the vendor's documented columns) lands under `profile=<name>/`, the real ingestion job loads it,
dbt builds the warehouse, and the monthly ticket counts and SLA figures of `marts.client_monthly`
match the arithmetic done by hand from the file. One landing zone and one build for every profile."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import PipelineRun
from tests.support import REPO, build_warehouse, query, throwaway_database

pytestmark = pytest.mark.filterwarnings("ignore")

EXPORTS = REPO / "tests" / "data" / "profiles"
# file -> landing key: a profile's files land under its folder; the Microsoft 365 CSV as it is.
LANDING = {
    "servicenow_incidents.csv": "landing/psa/tickets/profile=servicenow/servicenow_incidents.csv",
    "connectwise_tickets.jsonl": "landing/psa/tickets/profile=connectwise/connectwise_tickets.jsonl",
    "autotask_tickets.json": "landing/psa/tickets/profile=autotask/autotask_tickets.json",
    "halopsa_tickets.json": "landing/psa/tickets/profile=halopsa/halopsa_tickets.json",
    "jira_service_management_requests.csv": (
        "landing/psa/tickets/profile=jira_service_management/jira_service_management_requests.csv"
    ),
    "m365_active_user_detail.csv": "landing/m365/active_user_detail/m365_active_user_detail.csv",
    "m365_active_user_detail_graph.json": (
        "landing/m365/active_user_detail/profile=m365_graph/m365_active_user_detail_graph.json"
    ),
}
# Companions the marts join to: the clients as each system identifies them (a ServiceNow company id,
# a ConnectWise company identifier, Autotask companyIDs, Halo client ids, JSM organization names)
# and the HR directory holding the Microsoft 365 users.
CLIENTS = """client_id,client_name,industry,segment,region,onboarded_date,employee_count
C00001,Acme Opticians,Healthcare,SMB,North,2024-02-01,25
C00002,Bravo Accountants,Finance,SMB,South,2024-05-01,40
AlphaDental,"Alpha Dental, Inc.",Healthcare,SMB,East,2023-11-01,18
BetaLegal,Beta Legal LLP,Legal,Mid-Market,West,2022-06-01,120
29683501,Epsilon Clinic,Healthcare,SMB,North,2025-01-15,30
29683502,Zeta Logistics,Logistics,Mid-Market,South,2025-03-01,220
12,Eta Architects,Construction,SMB,East,2024-09-01,14
15,Theta Dental,Healthcare,SMB,West,2025-02-01,22
Iota Travel,Iota Travel,Travel,SMB,North,2024-04-01,35
Kappa Foods,Kappa Foods,Retail,Mid-Market,South,2023-08-01,300
"""
EMPLOYEES = """employee_id,user_principal_name,display_name,department,cost_center,hired_date,terminated_date
E1,ana@contoso.com,Ana Lima,Engineering,CC-1,2025-01-06,
E2,ben@contoso.com,Ben Okafor,Sales,CC-2,2025-03-10,
E3,carla@contoso.com,Carla Ruiz,Finance,CC-3,2025-06-02,
E4,dev@contoso.com,Dev Patel,Sales,CC-2,2024-01-08,
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> str:
    from orchestration.pipeline import failure_summary, run_job

    with throwaway_database() as url:
        run = PipelineRun("profiles", {"PULSEOPS_HOME": str(tmp_path_factory.mktemp("profiles")), "DATABASE_URL": url})
        with run.activate():
            store = run.store()
            for name, key in LANDING.items():
                store.put_bytes(key, (EXPORTS / name).read_bytes())
            store.put_bytes("landing/psa/clients/clients.csv", CLIENTS.encode())
            store.put_bytes("landing/hr/employees/employees.csv", EMPLOYEES.encode())
            result = run_job("ingest_job")  # the job the sensor and the Lambda start for new files
            assert result.success, failure_summary(result)
            built = build_warehouse(url)
            assert built.success, "the dbt build failed"
        yield url


def months(url: str) -> dict[tuple[str, date], dict]:
    columns = (
        "tickets_opened",
        "p1_tickets",
        "sla_response_pct",
        "sla_resolution_pct",
        "mean_time_to_respond_h",
        "mean_time_to_resolve_h",
    )
    found = query(url, f"select client_id, month, {', '.join(columns)} from marts.client_monthly")
    return {
        (client, month): dict(zip(columns, (None if v is None else float(v) for v in values), strict=True))
        for client, month, *values in found
    }


def figures(tickets, p1, response_pct, resolution_pct, respond_h, resolve_h) -> dict:
    return {
        "tickets_opened": tickets,
        "p1_tickets": p1,
        "sla_response_pct": response_pct,
        "sla_resolution_pct": resolution_pct,
        "mean_time_to_respond_h": respond_h,
        "mean_time_to_resolve_h": resolve_h,
    }


def of_clients(url: str, *clients: str) -> dict:
    return {key: value for key, value in months(url).items() if key[0] in clients}


SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def test_every_export_loads_whole(warehouse):
    ledger = dict(query(warehouse, "select file_key, status from raw._ingestion_ledger"))
    assert {key: ledger.get(key) for key in LANDING.values()} == {key: "loaded" for key in LANDING.values()}
    # ServiceNow: 11 rows, 6 incidents; ConnectWise: 8 versions of 5 tickets (the latest of each kept)
    assert query(warehouse, "select count(*) from raw.psa__tickets") == [(6 + 5 + 5 + 5 + 5,)]


def test_servicenow(warehouse):
    # Day-first dates; made_sla is the incident's one SLA outcome, so response and resolution agree;
    # the export has no first response time. Each incident's latest row (by sys_updated_on) counts.
    assert of_clients(warehouse, "C00001", "C00002") == {
        # INC0009001 (3 - Moderate) 09:00 -> 13:00 = 4 h, made_sla true
        ("C00001", SEP): figures(1, 0, 100.0, 100.0, None, 4.0),
        # INC0009002 (1 - Critical) 22/09 10:30 -> 23/09 10:30 = 24 h; made_sla turned false in its last row
        ("C00002", SEP): figures(1, 1, 0.0, 0.0, None, 24.0),
        # INC0009003 (5 - Planning = P4) 07/10 16:00 -> 09/10 16:00 = 48 h
        ("C00002", OCT): figures(1, 0, 100.0, 100.0, None, 48.0),
        # INC0010001: latest row 2 - High, made_sla false, 03/11 08:15:22 -> 14/11 17:40:00 = 273.4106 h;
        # INC0010002: made_sla true, 13:01 -> 15:30 = 2.4833 h; 1 of 2 met = 50 %; mean 275.8939 / 2 = 137.95
        ("C00001", NOV): figures(2, 0, 50.0, 50.0, None, 137.95),
        # INC0010003 (1 - Critical) still open, made_sla true so far
        ("C00002", NOV): figures(1, 1, 100.0, 100.0, None, None),
    }


def test_connectwise(warehouse):
    # isInSla is the ticket's one SLA outcome; created = _info/dateEntered (UTC), responded = dateResponded,
    # resolved = closedDate; each ticket's latest version by _info/lastUpdated counts.
    assert of_clients(warehouse, "AlphaDental", "BetaLegal") == {
        # 501201 (Priority 3): 14:00 -> 15:00 responded (1 h), closed next day 14:00 (24 h), in SLA
        ("AlphaDental", SEP): figures(1, 0, 100.0, 100.0, 1.0, 24.0),
        # 501202 (Priority 1): three versions, the last out of SLA; 09:30 -> 11:30 (2 h) -> 21:30 (12 h)
        ("AlphaDental", OCT): figures(1, 1, 0.0, 0.0, 2.0, 12.0),
        # 501203 (Priority 2): 08:00 -> 08:30 (0.5 h) -> 12:00 (4 h), in SLA
        ("BetaLegal", OCT): figures(1, 0, 100.0, 100.0, 0.5, 4.0),
        # 501204 (Priority 4, open, in SLA): responded in 4 h; 501205 (Priority 1, out of SLA): 3 h, closed in 24 h
        # 1 of 2 in SLA = 50 %; respond (4 + 3) / 2 = 3.5 h; resolve 24 h (one closed)
        ("BetaLegal", NOV): figures(2, 1, 50.0, 50.0, 3.5, 24.0),
    }


def test_autotask(warehouse):
    # priority picklist 4 = Critical (P1), 1 = High, 2 = Medium, 3 = Low; serviceLevelAgreementHasBeenMet
    # for both SLAs; resolved = completedDate; companyID is the client.
    assert of_clients(warehouse, "29683501", "29683502") == {
        # T20260908.0001 (4): 08:00 -> 09:00 (1 h) -> 16:00 (8 h), met;
        # T20260921.0004 (2): 10:00 -> 13:00 (3 h) -> two days later (48 h), not met
        # 1 of 2 met = 50 %; respond (1 + 3) / 2 = 2 h; resolve (8 + 48) / 2 = 28 h
        ("29683501", SEP): figures(2, 1, 50.0, 50.0, 2.0, 28.0),
        # T20261002.0002 (1 = High) open, no response yet (null), met so far;
        # T20261015.0007 (3): 12:00 -> 14:00 (2 h) -> next day 12:00 (24 h), met
        ("29683502", OCT): figures(2, 0, 100.0, 100.0, 2.0, 24.0),
        # T20261103.0001 (4): 06:30 -> 07:00 (0.5 h) -> 10:30 (4 h), met
        ("29683501", NOV): figures(1, 1, 100.0, 100.0, 0.5, 4.0),
    }


def test_halopsa(warehouse):
    # slaresponsestate I (inside) / O (outside) is the response SLA; Halo exports no resolution outcome,
    # so that percentage stays empty; dateclosed 1900-01-01T00:00:00 means not closed.
    assert of_clients(warehouse, "12", "15") == {
        # 3001 (priority 1): 08:00 -> 08:30 (0.5 h, I) -> 12:00 (4 h);
        # 3002 (3): 13:00 -> 17:00 (4 h, O) -> +2 days (48 h)
        # response 1 of 2 = 50 %; respond (0.5 + 4) / 2 = 2.25 h; resolve (4 + 48) / 2 = 26 h
        ("12", SEP): figures(2, 1, 50.0, None, 2.25, 26.0),
        # 3003 (2): 09:15 -> 10:15 (1 h, I), still open
        ("15", OCT): figures(1, 0, 100.0, None, 1.0, None),
        # 3004 (4): 11:00 -> 13:00 (2 h, I) -> next day (24 h); 3005 (1): 22:00 -> 01:00 (3 h, O) -> 10:00 (12 h)
        # 1 of 2 = 50 %; respond (2 + 3) / 2 = 2.5 h; resolve (24 + 12) / 2 = 18 h
        ("15", NOV): figures(2, 1, 50.0, None, 2.5, 18.0),
    }


def test_jira_service_management(warehouse):
    # Highest = P1 ... Lowest = P4; "Time to first response" / "Time to resolution" Met or Breached;
    # dates as Jira writes them (07/Sep/26 9:00 AM); no first response time in the export.
    assert of_clients(warehouse, "Iota Travel", "Kappa Foods") == {
        # SD-101 (High): 9:00 AM -> 3:30 PM (6.5 h), Met/Met; SD-102 (Highest): 11:15 PM -> 5:15 AM (6 h), Met/Breached
        # response 2 of 2, resolution 1 of 2; resolve (6.5 + 6) / 2 = 6.25 h
        ("Iota Travel", SEP): figures(2, 1, 100.0, 50.0, None, 6.25),
        # SD-103 (Medium): response Breached, open (no resolution outcome); SD-104 (Low): Met/Met in 48 h
        ("Kappa Foods", OCT): figures(2, 0, 50.0, 100.0, None, 48.0),
        # SD-105 (Lowest): 10:00 AM -> 12:00 PM (2 h), Met/Met
        ("Kappa Foods", NOV): figures(1, 0, 100.0, 100.0, None, 2.0),
    }


def test_microsoft_365_in_both_spellings(warehouse):
    """The report's CSV (no profile) and Graph's JSON (profile m365_graph) feed the same model."""
    employees = {
        upn: rest
        for upn, *rest in query(
            warehouse,
            "select user_principal_name, m365_last_activity_date, m365_assigned_products from marts.employees",
        )
    }
    assert employees == {
        # CSV: latest of Exchange 11-28, OneDrive 11-20, SharePoint 11-02, Teams 11-29
        "ana@contoso.com": [date(2026, 11, 29), "MICROSOFT 365 E3+POWER BI PRO"],
        "ben@contoso.com": [date(2026, 10, 3), "MICROSOFT 365 BUSINESS STANDARD"],  # Exchange 10-03, Teams 09-30
        # JSON: Exchange 11-27, SharePoint 11-29, Teams 11-28; the list of products joined as the CSV joins it
        "carla@contoso.com": [date(2026, 11, 29), "Microsoft 365 E3+Power BI Pro"],
        "dev@contoso.com": [date(2026, 11, 9), None],  # deleted: no products (an empty list)
    }
    deleted = query(
        warehouse,
        "select is_deleted, deleted_date, has_exchange_license from raw.m365__active_user_detail "
        "where user_principal_name = 'dev@contoso.com'",
    )
    assert deleted == [(True, date(2026, 11, 10), False)]
