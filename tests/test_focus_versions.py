"""FOCUS 1.0, 1.1 and 1.2 files load as published: every Column ID of each version is a known column
(kept in its own raw column, never in extra_columns), costs keep every digit, and the load report
names what lies outside the spec.

The column lists below were read from the specification (FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec,
tags v1.0, v1.1 and v1.2, specification/columns/*.md, "Column ID" and "Introduced (version)"). The
FinOps Foundation publishes sample data for 1.0 only (tests/data/focus/README.md); a 1.1 or 1.2 file
here is the published 1.0 rows with the columns those versions add, as a provider moving to the new
version writes them.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.contracts.focus import COSTS, INTRODUCED_IN, headers_for_version
from ingestion.loader import load_file

SAMPLE = Path(__file__).parent / "data" / "focus" / "focus_1.0_sample.csv"
ADDED_IN_1_1 = {
    "CapacityReservationId",
    "CapacityReservationStatus",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit",
    "ServiceSubcategory",
    "SkuMeter",
    "SkuPriceDetails",
}
ADDED_IN_1_2 = {
    "BillingAccountType",
    "InvoiceId",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "SubAccountType",
}
ROWS = 1000  # the whole published sample


def test_each_version_has_the_spec_column_set():
    v10, v11, v12 = (set(headers_for_version(v)) for v in ("1.0", "1.1", "1.2"))
    assert (len(v10), len(v11), len(v12)) == (43, 50, 57)
    assert v11 - v10 == ADDED_IN_1_1 and v12 - v11 == ADDED_IN_1_2 and v10 <= v11 <= v12
    assert {c for c, v in INTRODUCED_IN.items() if v == "1.1"} == ADDED_IN_1_1
    with SAMPLE.open(newline="") as handle:
        published = next(csv.reader(handle))
    assert set(published) - v10 == {"Id"} and v10 <= set(published)  # the provider's own column


def published_rows() -> tuple[list[str], list[dict]]:
    with SAMPLE.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, [row for _, row in zip(range(ROWS), reader, strict=False)]


def version_file(version: str) -> tuple[bytes, list[dict]]:
    """The published rows with the columns `version` adds; NULL where a value does not apply."""
    header, rows = published_rows()
    added = [c for c in headers_for_version(version) if c not in header]
    out = []
    for n, row in enumerate(rows):
        values = {
            "CapacityReservationId": "NULL",
            "CapacityReservationStatus": "NULL",
            "CommitmentDiscountQuantity": "NULL",
            "CommitmentDiscountUnit": "NULL",
            "ServiceSubcategory": "Other (Compute)" if row["ServiceCategory"] == "Compute" else "NULL",
            "SkuMeter": row["ConsumedUnit"],
            "SkuPriceDetails": json.dumps({"x_Tier": n % 3}),
            "BillingAccountType": "Billing Account",
            "SubAccountType": "Account",
            "InvoiceId": f"INV-2024-09-{n % 4}",
            "PricingCurrency": row["BillingCurrency"],
            "PricingCurrencyContractedUnitPrice": row["ContractedUnitPrice"],
            "PricingCurrencyEffectiveCost": row["EffectiveCost"],
            "PricingCurrencyListUnitPrice": row["ListUnitPrice"],
        }
        out.append({**row, **{c: values[c] for c in added}, "x_Discounts": "NULL"})
    text = io.StringIO()
    writer = csv.DictWriter(text, [*header, *added, "x_Discounts"], quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writeheader()
    writer.writerows(out)
    return text.getvalue().replace('"NULL"', "NULL").encode(), out


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_a_file_of_each_version_loads_whole_to_the_last_digit(version, raw_warehouse, module_store):
    body, rows = version_file(version)
    key = f"{COSTS.landing_prefix}focus_{version}.csv"
    module_store.put_bytes(key, body)
    stored = next(o for o in module_store.list(COSTS.landing_prefix) if o.key == key)

    result = load_file(raw_warehouse, module_store, COSTS, stored)

    assert (result.status, result.rows_loaded) == ("loaded", ROWS), result.error_summary
    # the provider's column is named (the x_ column is kept without a word), and so is every value
    # delivered in another case than the spec's
    assert result.notes == [
        "columns outside the contract kept in extra_columns: ['Id']",
        "ChargeFrequency: 'Usage-based' stored as 'Usage-Based' on 7 row(s)",
    ]
    expected = sum(Decimal(r["BilledCost"]) for r in rows if r["BilledCost"] != "NULL")
    loaded = raw_warehouse.execute(
        "select sum(billed_cost), sum(effective_cost), count(*) filter (where extra_columns ?| %s), "
        "count(*) filter (where extra_columns ? 'x_Discounts'), count(invoice_id), count(service_subcategory) "
        "from raw.focus__costs join raw._ingestion_ledger on file_id = _file_id where file_key = %s",
        (sorted(ADDED_IN_1_1 | ADDED_IN_1_2), key),
    ).fetchone()
    assert str(loaded[0]) == str(expected)
    assert loaded[1] == sum(Decimal(r["EffectiveCost"]) for r in rows if r["EffectiveCost"] != "NULL")
    assert loaded[2] == 0, "a column of the spec is never an extra column"
    assert loaded[3] == 0, "an x_ column whose every value is NULL keeps nothing"
    assert loaded[4] == (ROWS if version == "1.2" else 0)
    assert loaded[5] == (sum(r["ServiceCategory"] == "Compute" for r in rows) if version != "1.0" else 0)
