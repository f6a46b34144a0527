"""Microsoft 365 usage reports, with Microsoft's own CSV headers.

`getOffice365ActiveUserDetail` (Microsoft Graph reports API): one row per user with a licence flag,
the last activity date and the licence assignment date of each workload.
"""

from ingestion.contracts.model import Contract, col

WORKLOADS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")

ACTIVE_USER_DETAIL_HEADERS = (
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "Is Deleted",
    "Deleted Date",
    *(f"Has {w} License" for w in WORKLOADS),
    *(f"{w} Last Activity Date" for w in WORKLOADS),
    *(f"{w} License Assign Date" for w in WORKLOADS),
    "Assigned Products",
)

CONTRACTS = (
    Contract(
        "m365",
        "active_user_detail",
        (
            col("Report Refresh Date", "date"),
            col("User Principal Name", "text"),
            col("Display Name", "text", required=False),
            col("Is Deleted", "boolean"),
            col("Deleted Date", "date", required=False),
            *(col(f"Has {w} License", "boolean") for w in WORKLOADS),
            *(col(f"{w} Last Activity Date", "date", required=False) for w in WORKLOADS),
            *(col(f"{w} License Assign Date", "date", required=False) for w in WORKLOADS),
            col("Assigned Products", "text", required=False),
        ),
        key=("report_refresh_date", "user_principal_name"),
        expected_cadence_hours=48,
        description="Microsoft 365 active user detail report (getOffice365ActiveUserDetail).",
    ),
)
