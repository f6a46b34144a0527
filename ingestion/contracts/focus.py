"""FinOps FOCUS cost and usage files, versions 1.0 to 1.2 (FinOps Foundation's published spec).

Headers are the spec's Column IDs; `required` marks the columns that are mandatory and never null.
Names from earlier drafts (0.5, 1.0-preview) are accepted as aliases; custom `x_` columns and any
other column a provider adds are kept in `extra_columns` (the latter named in the load report); the
literal NULL is an empty value; an allowed value in another case ('Usage-based') is stored as the
spec writes it ('Usage-Based') and reported. A 1.0 or 1.1 file simply lacks the columns introduced
later, which are all optional here.
"""

from ingestion.contracts.model import Contract, col

VERSIONS = ("1.0", "1.1", "1.2")
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
SERVICE_CATEGORIES = (
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
)
# Columns added after 1.0, with the version that introduced them.
INTRODUCED_IN = {
    "CapacityReservationId": "1.1",
    "CapacityReservationStatus": "1.1",
    "CommitmentDiscountQuantity": "1.1",
    "CommitmentDiscountUnit": "1.1",
    "ServiceSubcategory": "1.1",
    "SkuMeter": "1.1",
    "SkuPriceDetails": "1.1",
    "BillingAccountType": "1.2",
    "InvoiceId": "1.2",
    "PricingCurrency": "1.2",
    "PricingCurrencyContractedUnitPrice": "1.2",
    "PricingCurrencyEffectiveCost": "1.2",
    "PricingCurrencyListUnitPrice": "1.2",
    "SubAccountType": "1.2",
}

COSTS = Contract(
    "focus",
    "costs",
    (
        col("AvailabilityZone", "text", required=False),
        col("BilledCost", "numeric"),
        col("BillingAccountId", "text"),
        col("BillingAccountName", "text", required=False),
        col("BillingAccountType", "text", required=False),
        col("BillingCurrency", "text"),
        col("BillingPeriodEnd", "timestamp"),
        col("BillingPeriodStart", "timestamp"),
        col("CapacityReservationId", "text", required=False),
        col("CapacityReservationStatus", "text", required=False, allowed=("Used", "Unused")),
        col("ChargeCategory", "text", allowed=CHARGE_CATEGORIES, aliases=("ChargeType",)),
        col("ChargeClass", "text", required=False, allowed=("Correction",)),
        col("ChargeDescription", "text", required=False),
        col("ChargeFrequency", "text", required=False, allowed=("One-Time", "Recurring", "Usage-Based")),
        col("ChargePeriodEnd", "timestamp"),
        col("ChargePeriodStart", "timestamp"),
        col("CommitmentDiscountCategory", "text", required=False, allowed=("Spend", "Usage")),
        col("CommitmentDiscountId", "text", required=False),
        col("CommitmentDiscountName", "text", required=False),
        col("CommitmentDiscountQuantity", "numeric", required=False),
        col("CommitmentDiscountStatus", "text", required=False, allowed=("Used", "Unused")),
        col("CommitmentDiscountType", "text", required=False),
        col("CommitmentDiscountUnit", "text", required=False),
        col("ConsumedQuantity", "numeric", required=False, aliases=("UsageQuantity",)),
        col("ConsumedUnit", "text", required=False, aliases=("UsageUnit",)),
        # Mandatory in the spec, yet empty (NULL) on some rows of the FinOps Foundation's own sample.
        col("ContractedCost", "numeric", required=False),
        col("ContractedUnitPrice", "numeric", required=False),
        col("EffectiveCost", "numeric", aliases=("AmortizedCost",)),
        col("InvoiceId", "text", required=False),
        col("InvoiceIssuerName", "text"),
        col("ListCost", "numeric"),
        col("ListUnitPrice", "numeric", required=False),
        col("PricingCategory", "text", required=False, allowed=("Standard", "Dynamic", "Committed", "Other")),
        col("PricingCurrency", "text", required=False),
        col("PricingCurrencyContractedUnitPrice", "numeric", required=False),
        col("PricingCurrencyEffectiveCost", "numeric", required=False),
        col("PricingCurrencyListUnitPrice", "numeric", required=False),
        col("PricingQuantity", "numeric", required=False),
        col("PricingUnit", "text", required=False),
        col("ProviderName", "text"),
        col("PublisherName", "text"),
        col("RegionId", "text", required=False),
        col("RegionName", "text", required=False, aliases=("Region",)),
        # Conditional in the spec: taxes, purchases and credits name no resource.
        col("ResourceId", "text", required=False),
        col("ResourceName", "text", required=False),
        col("ResourceType", "text", required=False),
        col("ServiceCategory", "text", allowed=SERVICE_CATEGORIES),
        col("ServiceName", "text"),
        col("ServiceSubcategory", "text", required=False),
        col("SkuId", "text", required=False),
        col("SkuMeter", "text", required=False),
        col("SkuPriceDetails", "text", required=False),  # JSON object
        col("SkuPriceId", "text", required=False),
        col("SubAccountId", "text"),  # conditional in the spec
        col("SubAccountName", "text", required=False),
        col("SubAccountType", "text", required=False),
        col("Tags", "text", required=False),  # JSON object; the `department` tag allocates spend
    ),
    # FOCUS rows have no identity of their own: one resource can bill several SKUs, prices and
    # charge categories on the same day. A provider's file covers a billing period, and a later
    # delivery for the same provider and billing period replaces the earlier one (in staging).
    key=(),
    keep_extra_prefix="x_",
    keep_unknown_columns=True,
    null_markers=("NULL",),
    normalise_allowed_case=True,
    expected_cadence_hours=48,
    description="FinOps FOCUS 1.x cost and usage rows (daily).",
)

CONTRACTS = (COSTS,)


def headers_for_version(version: str) -> list[str]:
    """The Column IDs a FOCUS file of `version` carries, in this contract's order."""
    if version not in VERSIONS:
        raise ValueError(f"FOCUS version {version!r} is not one of {VERSIONS}")
    return [c.source_name for c in COSTS.columns if INTRODUCED_IN.get(c.source_name, "1.0") <= version]
