"""PSA exports (ConnectWise Manage, Autotask, HaloPSA shaped): the MSP's clients, agreements,
invoices, tickets, time entries and CSAT survey responses."""

from ingestion.contracts.model import Contract, col

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
AGREEMENT_TYPES = ("managed_services", "backup", "security", "m365_resale", "block_hours")
PRIORITIES = ("P1", "P2", "P3", "P4")

CONTRACTS = (
    Contract(
        "psa",
        "clients",
        (
            col("client_id", "text"),
            col("client_name", "text"),
            col("industry", "text"),
            col("segment", "text", allowed=SEGMENTS),
            col("region", "text"),
            col("onboarded_date", "date"),
            col("employee_count", "integer", minimum=0),
        ),
        key=("client_id",),
        reject_rows=False,
        expected_cadence_hours=24,
        description="MSP clients from the PSA.",
    ),
    Contract(
        "psa",
        "agreements",
        (
            col("agreement_id", "text"),
            col("client_id", "text"),
            col("agreement_type", "text", allowed=AGREEMENT_TYPES),
            col("start_date", "date"),
            col("end_date", "date", required=False),
            col("monthly_amount", "numeric", minimum=0),
            col("units", "integer", minimum=0),
            col("unit_price", "numeric", minimum=0),
            col("cancelled", "boolean"),
            col("cancelled_date", "date", required=False),
            col("cancellation_reason", "text", required=False),
            # What one unit costs the MSP (licences resold, backup storage, tooling): the resale cost of margin.
            col("unit_cost", "numeric", required=False, minimum=0),
        ),
        key=("agreement_id",),
        expected_cadence_hours=24,
        description="Service agreements (contracts) billed monthly; end_date is the current term's end.",
    ),
    Contract(
        "psa",
        "invoices",
        (
            col("invoice_id", "text"),
            col("client_id", "text"),
            col("agreement_id", "text", required=False),
            col("issued_date", "date"),
            col("due_date", "date"),
            col("paid_date", "date", required=False),
            col("amount", "numeric", minimum=0),
        ),
        key=("invoice_id",),
        expected_cadence_hours=24,
        description="Invoices per agreement and month; paid_date is empty while unpaid.",
    ),
    Contract(
        "psa",
        "tickets",
        (
            col("ticket_id", "text"),
            col("client_id", "text"),
            col("priority", "text", allowed=PRIORITIES),
            col("category", "text"),
            col("created_at", "timestamp"),
            col("first_response_at", "timestamp", required=False),
            col("resolved_at", "timestamp", required=False),
            col("sla_response_met", "boolean"),
            col("sla_resolution_met", "boolean", required=False),
            col("reopen_count", "integer", minimum=0),
        ),
        key=("ticket_id",),
        expected_cadence_hours=24,
        description="Service tickets with SLA flags.",
    ),
    Contract(
        "psa",
        "time_entries",
        (
            col("time_entry_id", "text"),
            col("ticket_id", "text", required=False),  # empty for proactive work outside tickets
            col("client_id", "text"),
            col("agreement_id", "text", required=False),
            col("technician_id", "text"),
            col("started_at", "timestamp"),
            col("hours", "numeric", minimum=0, maximum=24),
            col("billable", "boolean"),
            col("cost_rate", "numeric", minimum=0),
        ),
        key=("time_entry_id",),
        expected_cadence_hours=24,
        description="Technician time with its hourly cost, against a ticket or an agreement.",
    ),
    Contract(
        "psa",
        "csat_responses",
        (
            col("response_id", "text"),
            col("client_id", "text"),
            col("ticket_id", "text", required=False),
            col("responded_at", "timestamp"),
            col("score", "integer", minimum=1, maximum=5),
        ),
        key=("response_id",),
        expected_cadence_hours=24,
        description="Customer satisfaction survey responses (1 = very unhappy, 5 = very happy).",
    ),
)
