"""A tiny hand-made estate for the known-answer tests: four MSP clients, five employees, three
applications and a week-end of cloud costs. Every figure the warehouse computes from it is worked
out by hand in tests/test_known_answers.py.

MSP history: invoices from March 2025, tickets and time from January 2026; the latest day with
data is 2026-03-31. C1 and C2 stay; C3 cancels on 2026-02-20 and C4 on 2026-03-10.
IT: usage judged on 2026-03-31; FOCUS costs for 2026-03-29 to 2026-03-31.
"""

from __future__ import annotations

FILES: dict[str, str] = {}

FILES["psa/clients"] = """client_id,client_name,industry,segment,region,onboarded_date,employee_count
C1,Alpha Dental,Healthcare,SMB,North,2025-06-15,20
C2,Beta Legal,Legal,Mid-Market,South,2025-01-10,100
C3,Gamma Retail,Retail,SMB,East,2025-12-01,10
C4,Delta Builders,Construction,SMB,West,2025-03-01,30
"""

FILES[
    "psa/agreements"
] = """agreement_id,client_id,agreement_type,start_date,end_date,monthly_amount,units,unit_price,cancelled,cancelled_date,cancellation_reason,unit_cost
AG1,C1,managed_services,2025-06-15,2026-06-15,1000,10,100,false,,,4
AG2,C1,m365_resale,2026-02-01,2027-02-01,220,10,22,false,,,17.6
AG3,C2,managed_services,2025-01-10,2027-01-10,1800,20,90,false,,,4
AG4,C3,managed_services,2025-12-01,2026-02-20,500,5,100,true,2026-02-20,Price,4
AG5,C4,managed_services,2025-03-01,2026-03-10,800,8,100,true,2026-03-10,Service quality,4
AG6,C2,backup,2025-06-01,2027-06-01,120,10,12,false,,,5.5
"""

FILES["psa/invoices"] = """invoice_id,client_id,agreement_id,issued_date,due_date,paid_date,amount
INV01,C2,AG3,2025-03-01,2025-03-31,2025-03-20,1800
INV02,C4,AG5,2025-03-01,2025-03-31,2025-04-10,800
INV03,C1,AG1,2026-01-01,2026-01-31,2026-01-15,1000
INV04,C2,AG3,2026-01-01,2026-01-31,2026-01-20,1800
INV05,C2,AG6,2026-01-01,2026-01-31,2026-01-20,120
INV06,C3,AG4,2026-01-01,2026-01-31,2026-02-15,500
INV07,C4,AG5,2026-01-01,2026-01-31,2026-02-10,800
INV08,C1,AG1,2026-02-01,2026-03-03,2026-02-10,1000
INV09,C1,AG2,2026-02-01,2026-03-03,2026-02-10,220
INV10,C2,AG3,2026-02-01,2026-03-03,2026-02-25,1800
INV11,C2,AG6,2026-02-01,2026-03-03,2026-02-25,120
INV12,C4,AG5,2026-02-01,2026-03-03,,800
INV13,C1,AG1,2026-03-01,2026-03-31,,1000
INV14,C1,AG2,2026-03-01,2026-03-31,2026-03-05,220
INV15,C2,AG3,2026-03-01,2026-03-31,2026-03-15,1800
INV16,C2,AG6,2026-03-01,2026-03-31,2026-03-15,120
"""

FILES[
    "psa/tickets"
] = """ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,sla_response_met,sla_resolution_met,reopen_count
T1,C1,P2,Email,2026-01-05 08:00:00,2026-01-05 09:00:00,2026-01-05 18:00:00,true,true,0
T2,C1,P1,Network,2026-02-03 07:00:00,2026-02-03 09:00:00,2026-02-03 19:00:00,false,false,1
T3,C1,P3,Software,2026-03-10 08:00:00,2026-03-10 12:00:00,,true,,0
T4,C2,P3,Hardware,2026-01-12 08:00:00,2026-01-12 10:00:00,2026-01-13 08:00:00,true,true,0
T5,C2,P4,Password reset,2026-01-20 09:00:00,2026-01-20 09:30:00,2026-01-20 11:00:00,true,true,0
T6,C2,P2,Email,2026-03-20 08:00:00,2026-03-20 14:00:00,2026-03-21 08:00:00,false,true,0
T7,C3,P1,Security,2026-01-25 10:00:00,2026-01-25 13:00:00,2026-01-26 10:00:00,false,false,2
T8,C4,P2,Network,2026-01-08 09:00:00,2026-01-08 10:00:00,2026-01-08 21:00:00,true,true,0
T9,C4,P1,Backup,2026-02-11 08:00:00,2026-02-11 10:00:00,2026-02-12 08:00:00,false,false,1
"""

FILES[
    "psa/time_entries"
] = """time_entry_id,ticket_id,client_id,agreement_id,technician_id,started_at,hours,billable,cost_rate
TE01,T1,C1,AG1,TECH1,2026-01-05 09:00:00,2,false,50
TE02,,C1,AG1,TECH1,2026-01-20 10:00:00,3,false,50
TE03,T2,C1,AG1,TECH2,2026-02-03 09:00:00,4,true,40
TE04,T3,C1,AG1,TECH1,2026-03-10 12:00:00,1.5,false,50
TE05,T4,C2,AG3,TECH2,2026-01-12 10:00:00,6,false,40
TE06,,C2,AG3,TECH2,2026-02-14 10:00:00,8,false,40
TE07,T6,C2,AG3,TECH1,2026-03-20 14:00:00,2.5,false,50
TE08,T7,C3,AG4,TECH1,2026-01-25 13:00:00,4,false,50
TE09,T8,C4,AG5,TECH2,2026-01-08 10:00:00,5,false,40
TE10,T9,C4,AG5,TECH2,2026-02-11 10:00:00,2,false,40
"""

FILES["psa/csat_responses"] = """response_id,client_id,ticket_id,responded_at,score
CS1,C1,T1,2026-01-06 10:00:00,5
CS2,C2,T4,2026-01-14 10:00:00,4
CS3,C2,T5,2026-01-21 10:00:00,5
CS4,C3,T7,2026-01-27 10:00:00,2
CS5,C4,T9,2026-02-13 10:00:00,1
CS6,C1,T2,2026-02-04 10:00:00,3
"""

FILES["rmm/device_snapshots"] = """client_id,snapshot_date,managed_endpoints,patch_compliance_pct,backup_success_pct
C1,2026-01-31,10,95.0,
C1,2026-03-30,12,90.0,
C1,2026-03-31,12,92.0,
C2,2026-01-15,20,98.0,99.0
C2,2026-01-31,20,96.0,97.0
C2,2026-03-31,22,97.0,100.0
C4,2026-02-28,8,80.0,
"""

FILES[
    "hr/employees"
] = """employee_id,user_principal_name,display_name,department,cost_center,hired_date,terminated_date
E1,ana@contoso.com,Ana,Engineering,CC-1,2024-01-01,
E2,ben@contoso.com,Ben,Engineering,CC-1,2024-01-01,
E3,cat@contoso.com,Cat,Sales,CC-2,2024-01-01,2026-02-15
E4,dan@contoso.com,Dan,Sales,CC-2,2026-03-10,
E5,eve@contoso.com,Eve,IT,CC-3,2024-01-01,
"""

FILES["saas/applications"] = """application_id,application_name,vendor,category,sanctioned
APP1,Zoom Workplace Pro,Zoom,Video Conferencing,true
APP2,Webex Meetings,Cisco,Video Conferencing,true
APP3,Jira Software,Atlassian,Project Management,true
"""

FILES[
    "saas/subscriptions"
] = """subscription_id,application_id,plan,seats_purchased,price_per_seat_month,billing_period,start_date,renewal_date,auto_renew,department
SUB1,APP1,Pro,5,15,monthly,2025-01-01,2026-04-20,true,Sales
SUB2,APP2,Business,4,12,annual,2025-06-01,2026-06-01,false,Engineering
SUB3,APP3,Standard,10,8,monthly,2026-03-15,2026-04-15,true,Engineering
"""

FILES["saas/licence_assignments"] = """subscription_id,employee_id,assigned_date,unassigned_date
SUB1,E1,2025-02-01,
SUB1,E2,2025-02-01,
SUB1,E3,2025-02-01,
SUB1,E4,2026-03-20,
SUB2,E1,2025-07-01,
SUB2,E2,2025-07-01,2026-01-15
SUB2,E5,2025-07-01,
SUB3,E1,2026-03-15,
SUB3,E5,2026-03-15,
"""

FILES["saas/daily_usage"] = """usage_date,employee_id,application_id,active,activity_count
2026-03-30,E1,APP1,true,5
2026-03-31,E1,APP1,true,3
2026-02-20,E2,APP1,true,2
2026-03-31,E2,APP1,false,0
2026-01-10,E3,APP1,true,4
2026-03-31,E1,APP2,true,1
2026-01-05,E5,APP2,true,2
2026-03-31,E1,APP3,true,7
"""

_WORKLOADS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")
FILES["m365/active_user_detail"] = (
    ",".join(
        [
            "Report Refresh Date",
            "User Principal Name",
            "Display Name",
            "Is Deleted",
            "Deleted Date",
            *(f"Has {w} License" for w in _WORKLOADS),
            *(f"{w} Last Activity Date" for w in _WORKLOADS),
            *(f"{w} License Assign Date" for w in _WORKLOADS),
            "Assigned Products",
        ]
    )
    + "\n"
    + ",".join(
        [
            "2026-03-31",
            "ana@contoso.com",
            "Ana",
            "false",
            "",
            "true",
            "true",
            "true",
            "false",
            "false",
            "true",
            "2026-03-30",
            "",
            "",
            "",
            "",
            "2026-03-31",
            "2024-01-02",
            "2024-01-02",
            "2024-01-02",
            "",
            "",
            "2024-01-02",
            "MICROSOFT 365 E3",
        ]
    )
    + "\n"
)

_FOCUS_HEADER = (
    "ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,BillingPeriodEnd,BilledCost,EffectiveCost,"
    "ListCost,ContractedCost,BillingCurrency,BillingAccountId,ChargeCategory,InvoiceIssuerName,"
    "ProviderName,PublisherName,ServiceName,ServiceCategory,SubAccountId,ResourceId,Tags"
)


def _focus_row(
    day: str,
    billed: str,
    effective: str,
    provider: str,
    service: str,
    category: str,
    resource: str,
    department: str | None,
) -> str:
    next_day = {"2026-03-29": "2026-03-30", "2026-03-30": "2026-03-31", "2026-03-31": "2026-04-01"}[day]
    tags = f'"{{""department"": ""{department}""}}"' if department else '"{}"'
    return ",".join(
        [
            f"{day}T00:00:00Z",
            f"{next_day}T00:00:00Z",
            "2026-03-01T00:00:00Z",
            "2026-04-01T00:00:00Z",
            billed,
            effective,
            billed,
            billed,
            "USD",
            "BA1",
            "Usage",
            provider,
            provider,
            provider,
            service,
            category,
            f"{provider}-{department or 'none'}",
            resource,
            tags,
        ]
    )


FILES["focus/costs"] = (
    "\n".join(
        [
            _FOCUS_HEADER,
            _focus_row("2026-03-29", "100.00", "90.00", "AWS", "Amazon EC2", "Compute", "r1", "Engineering"),
            _focus_row("2026-03-29", "20.50", "20.50", "AWS", "Amazon S3", "Storage", "r2", "Engineering"),
            _focus_row("2026-03-29", "40.00", "38.00", "Microsoft", "Virtual Machines", "Compute", "r3", "Sales"),
            _focus_row("2026-03-30", "110.00", "99.00", "AWS", "Amazon EC2", "Compute", "r1", "Engineering"),
            _focus_row("2026-03-30", "5.25", "5.25", "AWS", "Amazon S3", "Storage", "r4", None),
            _focus_row("2026-03-31", "120.00", "108.00", "AWS", "Amazon EC2", "Compute", "r1", "Engineering"),
            _focus_row("2026-03-31", "44.00", "41.80", "Microsoft", "Virtual Machines", "Compute", "r3", "Sales"),
        ]
    )
    + "\n"
)
