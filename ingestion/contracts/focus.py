"""FinOps FOCUS 1.x cost and usage files (column names per the published specification)."""
from ingestion.contracts.model import Contract, col

CONTRACTS = (
    Contract("focus", "costs", (
        col("ChargePeriodStart", "timestamp"),
        col("ChargePeriodEnd", "timestamp"),
        col("BilledCost", "numeric"),
        col("EffectiveCost", "numeric"),
        col("BillingCurrency", "text"),
        col("ChargeCategory", "text", allowed=("Usage", "Purchase", "Tax", "Credit", "Adjustment")),
        col("ProviderName", "text"),
        col("ServiceName", "text"),
        col("ServiceCategory", "text"),
        col("SubAccountId", "text"),
        col("ResourceId", "text"),
        col("Tags", "text", required=False),
    ), key=("charge_period_start", "sub_account_id", "service_name", "resource_id"),
        keep_extra_prefix="x_",
        description="FinOps FOCUS 1.x cost and usage rows (daily)."),
)
