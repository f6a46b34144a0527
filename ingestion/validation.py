"""Validate a typed source frame against its contract with a Great Expectations suite.

The suite is built from the contract (never written by hand), so contract and checks cannot drift.
Great Expectations is imported lazily: it costs seconds and hundreds of MB at import.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from ingestion.contracts import Contract

SAMPLE_SIZE = 5


@dataclass
class RuleViolation:
    rule: str
    column: str | None
    rows: list[int] = field(default_factory=list)  # 1-based data rows (the header is row 0)
    sample_values: list[str] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict:
        return {"rule": self.rule, "column": self.column, "count": len(self.rows),
                "rows": self.rows[:100], "sample_values": self.sample_values, "detail": self.detail}


def _expectations(contract: Contract):
    import great_expectations.expectations as gxe

    yield "columns_match_contract", None, gxe.ExpectTableColumnsToMatchSet(
        column_set=[c.name for c in contract.columns], exact_match=True)
    for column in contract.columns:
        if column.required or column.name in contract.key:
            yield "not_null", column.name, gxe.ExpectColumnValuesToNotBeNull(column=column.name)
        if column.allowed:
            yield "allowed_values", column.name, gxe.ExpectColumnValuesToBeInSet(
                column=column.name, value_set=list(column.allowed))
        if column.minimum is not None:
            yield "minimum", column.name, gxe.ExpectColumnValuesToBeBetween(
                column=column.name, min_value=column.minimum)
    if len(contract.key) == 1:
        yield "unique_key", contract.key[0], gxe.ExpectColumnValuesToBeUnique(column=contract.key[0])
    else:
        yield "unique_key", ",".join(contract.key), gxe.ExpectCompoundColumnsToBeUnique(
            column_list=list(contract.key))


def _signature(config) -> tuple:
    kwargs = config.kwargs
    return config.type, kwargs.get("column"), tuple(kwargs.get("column_list") or ())


def validate_frame(contract: Contract, frame: pd.DataFrame) -> list[RuleViolation]:
    """Run the contract's suite over `frame`; return one violation per failed expectation."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batch = (context.data_sources.add_pandas(contract.name)
             .add_dataframe_asset(contract.name)
             .add_batch_definition_whole_dataframe("whole")
             .get_batch(batch_parameters={"dataframe": frame}))
    rules = list(_expectations(contract))
    missing = {c.name for c in contract.columns} - set(frame.columns)
    if missing or set(frame.columns) - {c.name for c in contract.columns}:
        rules = rules[:1]  # row rules on a misshapen table would only repeat the column error
    suite = gx.ExpectationSuite(name=contract.name, expectations=[e for _, _, e in rules])
    outcome = batch.validate(suite, result_format="COMPLETE")
    # Results do not come back in suite order: match them to their rule by type and column.
    by_signature = {_signature(e.configuration): (rule, column) for rule, column, e in rules}
    violations = []
    for result in outcome.results:
        if result.success:
            continue
        rule, column = by_signature[_signature(result.expectation_config)]
        details = result.result or {}
        indexes = details.get("unexpected_index_list") or []
        rows = sorted({int(i) + 1 for i in indexes if isinstance(i, int)})
        values = [str(v) for v in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]
        if rule == "unique_key" and not rows:
            # The compound-key expectation reports values but not positions: find them here.
            duplicated = frame.duplicated(list(contract.key), keep=False).to_numpy()
            rows = [i + 1 for i in duplicated.nonzero()[0].tolist()]
            values = [str(tuple(r)) for r in frame.loc[duplicated, list(contract.key)].head(SAMPLE_SIZE).values]
        detail = ""
        if rule == "columns_match_contract":
            mismatched = details.get("details", {}).get("mismatched", {})
            source_names = {c.name: c.source_name for c in contract.columns}
            missing = sorted(source_names.get(n, n) for n in mismatched.get("missing") or [])
            detail = f"missing columns {missing}, unexpected columns {sorted(mismatched.get('unexpected') or [])}"
        violations.append(RuleViolation(rule, column, rows, values, detail))
    return violations
