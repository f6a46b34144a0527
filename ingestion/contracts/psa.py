"""PSA exports (ConnectWise Manage, Autotask, HaloPSA shaped): the MSP's clients, agreements and tickets."""
from ingestion.contracts.model import Contract, col

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
AGREEMENT_TYPES = ("managed_services", "backup", "security", "m365_resale", "block_hours")
PRIORITIES = ("P1", "P2", "P3", "P4")

CONTRACTS = (
    Contract("psa", "clients", (
        col("client_id", "text"),
        col("client_name", "text"),
        col("industry", "text"),
        col("segment", "text", allowed=SEGMENTS),
        col("region", "text"),
        col("onboarded_date", "date"),
        col("employee_count", "integer", minimum=0),
    ), key=("client_id",), reject_rows=False, description="MSP clients from the PSA."),
    Contract("psa", "agreements", (
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
    ), key=("agreement_id",), description="Service agreements (contracts) billed monthly."),
    Contract("psa", "tickets", (
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
    ), key=("ticket_id",), description="Service tickets with SLA flags."),
)
