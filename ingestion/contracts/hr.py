"""HR directory export: who works here, where, and since when."""

from ingestion.contracts.model import Contract, col

CONTRACTS = (
    Contract(
        "hr",
        "employees",
        (
            col("employee_id", "text"),
            col("user_principal_name", "text"),
            col("display_name", "text", required=False),
            col("department", "text"),
            col("cost_center", "text"),
            col("hired_date", "date"),
            col("terminated_date", "date", required=False),
        ),
        key=("employee_id",),
        reject_rows=False,
        expected_cadence_hours=24 * 7,
        description="Employees from the HR directory; the user principal name links them to Microsoft 365.",
    ),
)
