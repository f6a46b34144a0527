"""FinOps FOCUS daily cost rows for cloud and SaaS services, allocated to departments by tag.

Each department runs a few services (one carries most of its spend) on one or more resources.
Costs follow a weekly rhythm, a yearly swell and each department's growth; planted on the main
service of each department: one-day spikes and drops and a lasting level shift.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.contracts.focus import COSTS, headers_for_version
from ingestion.demo.it_people import DEPARTMENTS
from ingestion.demo.timeline import Timeline, weekday


@dataclass(frozen=True)
class Service:
    provider: str
    publisher: str
    invoice_issuer: str
    name: str
    category: str
    subcategory: str
    resource_type: str
    sku: str
    description: str
    unit: str
    list_price: float
    discount: float  # negotiated discount off list
    region: tuple[str, str] | None
    weekend_factor: float


SERVICES = {
    "ec2": Service(
        "AWS",
        "AWS",
        "AWS",
        "Amazon Elastic Compute Cloud",
        "Compute",
        "Virtual Machines",
        "Instance",
        "BoxUsage:m5.xlarge",
        "Linux m5.xlarge instance hours",
        "Hours",
        0.192,
        0.08,
        ("us-east-1", "US East (N. Virginia)"),
        0.7,
    ),
    "rds": Service(
        "AWS",
        "AWS",
        "AWS",
        "Amazon Relational Database Service",
        "Databases",
        "Relational Databases",
        "DB Instance",
        "InstanceUsage:db.r6g.large",
        "PostgreSQL db.r6g.large instance hours",
        "Hours",
        0.225,
        0.08,
        ("us-east-1", "US East (N. Virginia)"),
        1.0,
    ),
    "s3": Service(
        "AWS",
        "AWS",
        "AWS",
        "Amazon Simple Storage Service",
        "Storage",
        "Object Storage",
        "Bucket",
        "TimedStorage-ByteHrs",
        "Standard storage",
        "GB-Hours",
        0.000032,
        0.08,
        ("us-east-1", "US East (N. Virginia)"),
        1.0,
    ),
    "lambda": Service(
        "AWS",
        "AWS",
        "AWS",
        "AWS Lambda",
        "Compute",
        "Serverless Compute",
        "Function",
        "Lambda-GB-Second",
        "Lambda compute duration",
        "GB-Seconds",
        0.0000166667,
        0.08,
        ("us-east-1", "US East (N. Virginia)"),
        0.5,
    ),
    "azure_vm": Service(
        "Microsoft",
        "Microsoft",
        "Microsoft",
        "Virtual Machines",
        "Compute",
        "Virtual Machines",
        "Virtual machine",
        "DZH318Z0BQ4L",
        "D4s v5 compute hours",
        "Hours",
        0.192,
        0.05,
        ("eastus", "East US"),
        0.75,
    ),
    "azure_sql": Service(
        "Microsoft",
        "Microsoft",
        "Microsoft",
        "Azure SQL Database",
        "Databases",
        "Relational Databases",
        "SQL database",
        "DZH318Z0BQ5J",
        "General Purpose vCore hours",
        "Hours",
        0.505,
        0.05,
        ("eastus", "East US"),
        1.0,
    ),
    "bigquery": Service(
        "Google Cloud",
        "Google Cloud",
        "Google Cloud",
        "BigQuery",
        "Databases",
        "Data Warehouses",
        "Dataset",
        "F17B-412E-CB64",
        "Analysis (on-demand)",
        "Tebibytes",
        6.25,
        0.0,
        ("us-central1", "Iowa"),
        0.35,
    ),
    "gcs": Service(
        "Google Cloud",
        "Google Cloud",
        "Google Cloud",
        "Cloud Storage",
        "Storage",
        "Object Storage",
        "Bucket",
        "E5F0-6A5D-7BAD",
        "Standard Storage US Multi-region",
        "GiB-Months",
        0.026,
        0.0,
        ("us", "United States"),
        1.0,
    ),
    # Bought through AWS Marketplace: Snowflake provides and publishes it, AWS invoices it.
    "snowflake": Service(
        "Snowflake",
        "Snowflake",
        "AWS",
        "Snowflake Data Cloud",
        "Databases",
        "Data Warehouses",
        "Warehouse",
        "SNOWFLAKE-CREDITS-ENT",
        "Enterprise edition compute credits",
        "Credits",
        3.0,
        0.12,
        ("us-east-1", "US East (N. Virginia)"),
        0.4,
    ),
    "datadog": Service(
        "Datadog",
        "Datadog",
        "Datadog",
        "Datadog Infrastructure Monitoring",
        "Management and Governance",
        "Observability",
        "Host",
        "infra-pro-host",
        "Infrastructure Pro hosts",
        "Host-Hours",
        0.0208,
        0.0,
        None,
        0.9,
    ),
}
# Daily spend at the start of the history per department and service; the first is the main one.
DEPARTMENT_SERVICES = {
    "Engineering": {"ec2": 700, "rds": 250, "s3": 120, "lambda": 60, "datadog": 150},
    "Sales": {"azure_vm": 110, "azure_sql": 60},
    "Marketing": {"bigquery": 220, "gcs": 70, "s3": 40},
    "Finance": {"snowflake": 260, "azure_sql": 80},
    "Operations": {"azure_vm": 200, "azure_sql": 90, "s3": 40},
    "Support": {"ec2": 140, "rds": 60, "datadog": 40},
    "IT": {"azure_vm": 160, "s3": 60, "datadog": 50, "lambda": 20},
}
BILLING_ACCOUNTS = {  # provider -> (id, name, type)
    "AWS": ("123456789012", "Contoso Management Account", "Management Account"),
    "Microsoft": ("8611537", "Contoso Ltd", "Billing Profile"),
    "Google Cloud": ("01A2B3-C4D5E6-F7A8B9", "Contoso Billing", "Billing Account"),
    "Snowflake": ("123456789012", "Contoso Management Account", "Management Account"),
    "Datadog": ("dd-contoso", "Contoso", "Organization"),
}
SUB_ACCOUNT_TYPES = {
    "AWS": "Linked Account",
    "Microsoft": "Subscription",
    "Google Cloud": "Project",
    "Snowflake": "Account",
    "Datadog": "Organization",
}
INVOICE_PREFIX = {"AWS": "AWS-", "Microsoft": "MSFT-", "Google Cloud": "GCP-", "Datadog": "DDOG-"}
KINDS = ("spike", "drop", "level_shift")


def _sub_account(provider: str, d: int, department: str) -> str:
    slug = department.lower()
    return {
        "AWS": f"{210000000000 + 1111 * (d + 1):012d}",
        "Microsoft": f"{d + 1:08x}-5d3c-4a4e-9f1b-{(d + 1) * 7919:012x}",
        "Google Cloud": f"contoso-{slug}-prod",
        "Snowflake": f"contoso-{slug}",
        "Datadog": f"contoso-{slug}",
    }[provider]


def _resource_id(key: str, account: str, department: str, n: int) -> str:
    slug = department.lower()
    return {
        "ec2": f"arn:aws:ec2:us-east-1:{account}:instance/i-{hashlib.md5(f'{slug}{n}'.encode()).hexdigest()[:17]}",
        "rds": f"arn:aws:rds:us-east-1:{account}:db:{slug}-db-{n:02d}",
        "s3": f"arn:aws:s3:::contoso-{slug}-data-{n:02d}",
        "lambda": f"arn:aws:lambda:us-east-1:{account}:function:{slug}-jobs-{n:02d}",
        "azure_vm": f"/subscriptions/{account}/resourceGroups/rg-{slug}/providers/Microsoft.Compute/"
        f"virtualMachines/vm-{slug}-{n:02d}",
        "azure_sql": f"/subscriptions/{account}/resourceGroups/rg-{slug}/providers/Microsoft.Sql/servers/"
        f"sql-{slug}/databases/db-{n:02d}",
        "bigquery": f"//bigquery.googleapis.com/projects/{account}/datasets/analytics_{n:02d}",
        "gcs": f"//storage.googleapis.com/projects/_/buckets/{account}-{n:02d}",
        "snowflake": f"{account}/warehouse/{slug.upper()}_WH_{n:02d}",
        "datadog": f"{account}/hosts/{slug}-{n:02d}",
    }[key]


def _series(rng, resources_per_service: int) -> pd.DataFrame:
    """One row per resource: what it is, who pays, and its starting daily cost."""
    rows = []
    for d, department in enumerate(DEPARTMENTS):
        environment_split = rng.random() < 0.5
        for rank, (key, daily) in enumerate(DEPARTMENT_SERVICES[department].items()):
            service = SERVICES[key]
            account = _sub_account(service.provider, d, department)
            billing = BILLING_ACCOUNTS[service.provider]
            shares = rng.dirichlet(np.full(resources_per_service, 4.0))
            for n, share in enumerate(shares, start=1):
                environment = "dev" if environment_split and n % 4 == 0 else "prod"
                rows.append(
                    {
                        "department": department,
                        "main": rank == 0,
                        "service_key": key,
                        "daily": daily * share,
                        "weekend_factor": service.weekend_factor,
                        "ProviderName": service.provider,
                        "PublisherName": service.publisher,
                        "InvoiceIssuerName": service.invoice_issuer,
                        "ServiceName": service.name,
                        "ServiceCategory": service.category,
                        "ServiceSubcategory": service.subcategory,
                        "BillingAccountId": billing[0],
                        "BillingAccountName": billing[1],
                        "BillingAccountType": billing[2],
                        "SubAccountId": account,
                        "SubAccountName": f"{department} ({environment})",
                        "SubAccountType": SUB_ACCOUNT_TYPES[service.provider],
                        "ResourceId": _resource_id(key, account, department, n),
                        "ResourceName": f"{department.lower()}-{key.replace('_', '-')}-{n:02d}",
                        "ResourceType": service.resource_type,
                        "RegionId": service.region[0] if service.region else None,
                        "RegionName": service.region[1] if service.region else None,
                        "AvailabilityZone": f"{service.region[0]}{'abc'[n % 3]}" if key in ("ec2", "rds") else None,
                        "SkuId": service.sku,
                        "SkuPriceId": f"{service.sku}:{service.unit}:standard",
                        "SkuMeter": service.description,
                        "SkuPriceDetails": json.dumps({"PricingModel": "OnDemand", "Unit": service.unit}),
                        "ChargeDescription": service.description,
                        "ListUnitPrice": service.list_price,
                        "ContractedUnitPrice": round(service.list_price * (1 - service.discount), 10),
                        "PricingUnit": service.unit,
                        "ConsumedUnit": service.unit,
                        "Tags": json.dumps(
                            {
                                "department": department,
                                "environment": environment,
                                "cost_center": f"CC-{1000 + 100 * d + 10}",
                            }
                        ),
                        "x_UsageType": f"USE1-{service.sku}" if service.provider == "AWS" else None,
                    }
                )
    return pd.DataFrame(rows)


def _plant(rng, series: pd.DataFrame, days: np.ndarray, multiplier: np.ndarray, timeline: Timeline) -> list[dict]:
    """Scale the main service of every department on chosen days; return what was planted."""
    history = len(days)
    planted = []
    for d, department in enumerate(DEPARTMENTS):
        count = max(2, history // 140)
        # One-day incidents first, then a level shift that lasts to the end of the history.
        kinds = [KINDS[(d + i) % 2] for i in range(count - 1)] + ["level_shift"]
        bounds = np.linspace(60, history - 21, count + 1)
        main = np.flatnonzero((series["department"] == department).to_numpy() & series["main"].to_numpy())
        for i, kind in enumerate(kinds):
            day = int(rng.uniform(bounds[i] + 7, bounds[i + 1] - 7))
            if kind == "spike":
                factor = rng.uniform(4.0, 6.0)
                multiplier[np.ix_(main, [day])] *= factor
            elif kind == "drop":
                factor = 0.05
                multiplier[np.ix_(main, [day])] *= factor
            else:
                factor = rng.uniform(1.6, 1.9)
                multiplier[main, day:] *= factor
            planted.append(
                {
                    "series": f"department={department}",
                    "department": department,
                    "service_name": SERVICES[series["service_key"].iloc[main[0]]].name,
                    "date": str(timeline.dates([days[day]])[0]),
                    "kind": kind,
                    "factor": round(float(factor), 3),
                }
            )
    return sorted(planted, key=lambda a: (a["date"], a["department"]))


def make_costs(
    rng, resources_per_service: int, timeline: Timeline, version: str = "1.2", custom_columns: bool = True
) -> tuple[pd.DataFrame, list[dict]]:
    series = _series(rng, resources_per_service)
    days = np.arange(0, timeline.end)
    s, n_days = len(series), len(days)
    dates = timeline.dates(days)
    weekend = weekday(dates) >= 5
    growth = rng.uniform(0.05, 0.25, len(DEPARTMENTS))[
        pd.Categorical(series["department"], categories=DEPARTMENTS).codes
    ]
    phase = rng.uniform(0, 2 * np.pi, len(DEPARTMENTS))[
        pd.Categorical(series["department"], categories=DEPARTMENTS).codes
    ]
    level = (
        series["daily"].to_numpy()[:, None]
        * np.where(weekend[None, :], series["weekend_factor"].to_numpy()[:, None], 1.0)
        * (1 + growth[:, None] * days[None, :] / 365)
        * (1 + 0.04 * np.sin(2 * np.pi * days[None, :] / 365 + phase[:, None]))
    )
    multiplier = rng.lognormal(0, 0.05, (s, n_days))
    anomalies = _plant(rng, series, days, multiplier, timeline)
    cost = np.round(level * multiplier, 4).ravel()

    row_series = np.repeat(np.arange(s), n_days)
    row_day = np.tile(days, s)
    frame = series.iloc[row_series].reset_index(drop=True)
    charge_start = timeline.moments(row_day)
    month = charge_start.astype("datetime64[M]")
    open_month = month == np.datetime64(timeline.as_of, "M")
    contracted_price = frame["ContractedUnitPrice"].to_numpy()
    quantity = np.round(cost / contracted_price, 4)
    list_cost = np.round(quantity * frame["ListUnitPrice"].to_numpy(), 4)
    frame = frame.assign(
        BilledCost=cost,
        EffectiveCost=cost,
        ContractedCost=cost,
        ListCost=list_cost,
        BillingCurrency="USD",
        PricingCurrency="USD",
        PricingCurrencyEffectiveCost=cost,
        PricingCurrencyContractedUnitPrice=contracted_price,
        PricingCurrencyListUnitPrice=frame["ListUnitPrice"].to_numpy(),
        BillingPeriodStart=month.astype("datetime64[s]"),
        BillingPeriodEnd=(month + 1).astype("datetime64[s]"),
        ChargePeriodStart=charge_start,
        ChargePeriodEnd=charge_start + np.timedelta64(1, "D"),
        ChargeCategory="Usage",
        ChargeClass=None,
        ChargeFrequency="Usage-Based",
        PricingCategory="Standard",
        ConsumedQuantity=quantity,
        PricingQuantity=quantity,
        # Invoices are issued once a month closes.
        InvoiceId=np.where(
            open_month,
            None,
            np.char.add(
                frame["InvoiceIssuerName"].map(INVOICE_PREFIX).to_numpy().astype(str),
                np.char.replace(month.astype(str), "-", ""),
            ),
        ),
        CapacityReservationId=None,
        CapacityReservationStatus=None,
        CommitmentDiscountCategory=None,
        CommitmentDiscountId=None,
        CommitmentDiscountName=None,
        CommitmentDiscountQuantity=np.nan,
        CommitmentDiscountStatus=None,
        CommitmentDiscountType=None,
        CommitmentDiscountUnit=None,
    )
    columns = headers_for_version(version) + (["x_UsageType"] if custom_columns else [])
    return frame[columns], anomalies


FOCUS_TIMESTAMP_COLUMNS = tuple(c.source_name for c in COSTS.columns if c.type == "timestamp")
