"""SaaS management exports: application catalogue, subscriptions, seat assignments, daily usage."""

from ingestion.contracts.model import Contract, col

CONTRACTS = (
    Contract(
        "saas",
        "applications",
        (
            col("application_id", "text"),
            col("application_name", "text"),
            col("vendor", "text"),
            col("category", "text"),
            col("sanctioned", "boolean"),
        ),
        key=("application_id",),
        reject_rows=False,
        expected_cadence_hours=24 * 7,
        description="Application catalogue.",
    ),
    Contract(
        "saas",
        "subscriptions",
        (
            col("subscription_id", "text"),
            col("application_id", "text"),
            col("plan", "text"),
            col("seats_purchased", "integer", minimum=0),
            col("price_per_seat_month", "numeric", minimum=0),
            col("billing_period", "text", allowed=("monthly", "annual")),
            col("start_date", "date"),
            col("renewal_date", "date"),
            col("auto_renew", "boolean"),
            col("department", "text"),
        ),
        key=("subscription_id",),
        reject_rows=False,
        expected_cadence_hours=24 * 7,
        description="SaaS subscriptions and their seat counts.",
    ),
    Contract(
        "saas",
        "licence_assignments",
        (
            col("subscription_id", "text"),
            col("employee_id", "text"),
            col("assigned_date", "date"),
            col("unassigned_date", "date", required=False),
        ),
        key=("subscription_id", "employee_id", "assigned_date"),
        expected_cadence_hours=24,
        description="Which employee holds a seat of which subscription, and since when.",
    ),
    Contract(
        "saas",
        "daily_usage",
        (
            col("usage_date", "date"),
            col("employee_id", "text"),
            col("application_id", "text"),
            col("active", "boolean"),
            col("activity_count", "integer", minimum=0),
        ),
        key=("usage_date", "employee_id", "application_id"),
        expected_cadence_hours=48,
        description="Daily activity of each user in each application.",
    ),
)
