"""Validate delivered files against their contract.

Three layers: the header (column names, aliases, kept extras), the rows of each batch (a Great
Expectations suite built from the contract: required values, allowed values, ranges; plus control
characters), and keys across the whole file (duplicates: see key_check). Great Expectations is
imported lazily: it costs seconds and hundreds of MB at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.contracts import Contract

SAMPLE_SIZE = 5
MAX_ROWS_REPORTED = 100
# C0 control characters other than tab, newline and carriage return: NUL breaks PostgreSQL text,
# the rest are never meant as data and hide content from people reading it.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


@dataclass
class RuleViolation:
    rule: str
    column: str | None
    rows: list[int] = field(default_factory=list)  # 1-based data rows (the header is row 0)
    sample_values: list[str] = field(default_factory=list)
    detail: str = ""
    count: int | None = None

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "column": self.column,
            "count": self.count if self.count is not None else len(self.rows),
            "rows": self.rows[:MAX_ROWS_REPORTED],
            "sample_values": self.sample_values[:SAMPLE_SIZE],
            "detail": self.detail,
        }

    def describe(self) -> str:
        where = f" rows {self.rows[:10]}" + ("..." if len(self.rows) > 10 else "") if self.rows else ""
        samples = f" e.g. {self.sample_values[:3]}" if self.sample_values else ""
        return f"{self.rule} on {self.column or 'the file'}{where}{samples} {self.detail}".strip()


class ViolationLog:
    """Violations of a whole file, merged across batches per (rule, column)."""

    def __init__(self):
        self._by_rule: dict[tuple, RuleViolation] = {}

    def add(self, violation: RuleViolation) -> None:
        key = (violation.rule, violation.column)
        known = self._by_rule.get(key)
        if known is None:
            self._by_rule[key] = violation
            return
        known.rows.extend(violation.rows)
        known.sample_values.extend(violation.sample_values[: max(0, SAMPLE_SIZE - len(known.sample_values))])

    def extend(self, violations) -> None:
        for violation in violations:
            self.add(violation)

    @property
    def violations(self) -> list[RuleViolation]:
        return list(self._by_rule.values())

    def bad_rows(self) -> np.ndarray:
        rows = [np.asarray(v.rows, dtype=np.int64) for v in self._by_rule.values() if v.rows]
        return np.unique(np.concatenate(rows)) if rows else np.empty(0, dtype=np.int64)

    def __bool__(self) -> bool:
        return bool(self._by_rule)


@dataclass(frozen=True)
class HeaderMapping:
    rename: dict[str, str]  # delivered header -> warehouse column
    extras: list[str]  # delivered headers kept as extra columns
    violations: list[RuleViolation]


def check_header(contract: Contract, header: list[str], delimiter_hint: str | None = None) -> HeaderMapping:
    """Map delivered headers onto the contract; report missing, unknown and repeated columns."""
    known = contract.header_map()
    rename, extras, unexpected, seen = {}, [], [], {}
    for name in header:
        target = known.get(name) or known.get(name.strip())
        if target is not None:
            if target in seen:
                return HeaderMapping(
                    {},
                    [],
                    [
                        RuleViolation(
                            "duplicate_columns", target, detail=f"'{seen[target]}' and '{name}' are the same column"
                        )
                    ],
                )
            seen[target] = name
            rename[name] = target
        elif (
            contract.keep_extra_prefix and name.startswith(contract.keep_extra_prefix) or contract.keep_unknown_columns
        ):
            if name in extras:
                return HeaderMapping(
                    {}, [], [RuleViolation("duplicate_columns", None, detail=f"'{name}' appears twice")]
                )
            extras.append(name)
        else:
            unexpected.append(name)
    missing = [c.source_name for c in contract.columns if c.required and c.name not in seen]
    violations = []
    if missing or unexpected:
        detail = f"missing columns {missing}, unexpected columns {unexpected}"
        if delimiter_hint:
            detail += f"; the file seems delimited by {delimiter_hint!r}, expected ','"
        violations.append(RuleViolation("columns_match_contract", None, detail=detail))
    return HeaderMapping(rename, extras, violations)


def _expectations(contract: Contract, present: set[str]):
    import great_expectations.expectations as gxe

    for column in contract.columns:
        if column.name not in present:
            continue
        if column.required or column.name in contract.key:
            yield "not_null", column.name, gxe.ExpectColumnValuesToNotBeNull(column=column.name)
        if column.allowed:
            yield (
                "allowed_values",
                column.name,
                gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(column.allowed)),
            )
        if column.minimum is not None or column.maximum is not None:
            yield (
                "range",
                column.name,
                gxe.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=column.minimum, max_value=column.maximum
                ),
            )


def _signature(config) -> tuple:
    return config.type, config.kwargs.get("column")


class BatchValidator:
    """Runs the contract's Great Expectations suite over each batch of a file."""

    def __init__(self, contract: Contract, present_columns: set[str]):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.execution_engine import pandas_execution_engine

        # Great Expectations fingerprints every in-memory batch (twice per validation) for a batch
        # marker nothing here reads; on large batches that hashing costs more than the checks.
        pandas_execution_engine.HASH_THRESHOLD = 0

        self.contract = contract
        self.rules = list(_expectations(contract, present_columns))
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False}
        self.asset = self.context.data_sources.add_pandas(contract.name).add_dataframe_asset(contract.name)
        self.batch_definition = self.asset.add_batch_definition_whole_dataframe("batch")
        self.suite = gx.ExpectationSuite(name=contract.name, expectations=[e for _, _, e in self.rules])
        self.by_signature = {_signature(e.configuration): (rule, column) for rule, column, e in self.rules}
        self.text_columns = [c.name for c in contract.columns if c.type == "text" and c.name in present_columns]

    def check(self, frame: pd.DataFrame, first_row: int) -> list[RuleViolation]:
        """Violations in `frame`, whose first row is file row `first_row`."""
        frame = frame.set_axis(pd.RangeIndex(first_row, first_row + len(frame)), axis=0)
        violations = self._control_characters(frame)
        if not self.rules:
            return violations
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        # Pass or fail first: the summary's counts and samples cost three times the checks.
        outcome = batch.validate(self.suite, result_format="BOOLEAN_ONLY")
        failed = [r for r in outcome.results if not r.success]
        if failed:
            # Rare: only now pay for the full list of failing rows.
            outcome = batch.validate(self.suite, result_format="COMPLETE")
        for result in outcome.results:
            if result.success:
                continue
            rule, column = self.by_signature[_signature(result.expectation_config)]
            details = result.result or {}
            rows = sorted(
                int(i) for i in details.get("unexpected_index_list") or [] if isinstance(i, (int, np.integer))
            )
            values = [str(v) for v in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]
            violations.append(RuleViolation(rule, column, rows, values, _rule_detail(self.contract, rule, column)))
        return violations

    def _control_characters(self, frame: pd.DataFrame) -> list[RuleViolation]:
        violations = []
        for column in self.text_columns:
            if not _may_hold_control_characters(frame[column]):
                continue
            hits = frame[column].str.contains(CONTROL_CHARACTERS, regex=True, na=False).to_numpy(dtype=bool)
            if hits.any():
                rows = frame.index[hits].tolist()
                samples = [repr(v) for v in frame.loc[hits, column].head(SAMPLE_SIZE)]
                violations.append(
                    RuleViolation(
                        "control_characters", column, rows, samples, "control characters are not allowed in text"
                    )
                )
        return violations


def _may_hold_control_characters(text: pd.Series) -> bool:
    """A look at the column's bytes as Arrow holds them, far cheaper than a regular expression per
    value: False is certain (UTF-8 never uses bytes below 0x20 or 0x7F inside another character);
    True (tabs and line breaks too) is checked value by value."""
    arrow = pa.array(text, from_pandas=True)
    for chunk in arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]:
        data = chunk.buffers()[2]
        if data is None or data.size == 0:
            continue
        data = np.frombuffer(data, np.uint8)
        if data.min() < 0x20 or (data == 0x7F).any():
            return True
    return False


def _rule_detail(contract: Contract, rule: str, column: str | None) -> str:
    if column is None:
        return ""
    spec = contract.column(column)
    if rule == "allowed_values":
        return f"allowed: {list(spec.allowed)}"
    if rule == "range":
        return f"allowed range: {spec.minimum} to {spec.maximum}"
    return ""


# Dates outside this span are typing slips or placeholders (0001-01-01, 9999-12-31), not events.
EARLIEST_PLAUSIBLE = pd.Timestamp("1900-01-01")
PLAUSIBLE_YEARS_AHEAD = 50


def non_finite_numbers(contract: Contract, table: pa.Table, first_row: int) -> list[RuleViolation]:
    """NaN or Infinity where an amount belongs (the fast parser reads them as floats; in pandas a
    NaN would look like an empty cell, so this looks at the Arrow columns)."""
    violations = []
    for column in contract.columns:
        if column.type == "numeric" and column.name in table.column_names:
            values = table.column(column.name)
            bad = pc.invert(pc.fill_null(pc.is_finite(values), True)).to_numpy(zero_copy_only=False)
            if bad.any():
                rows = (np.flatnonzero(bad) + first_row).tolist()
                samples = [str(v) for v in values.filter(pa.array(bad)).to_pylist()[:SAMPLE_SIZE]]
                violations.append(RuleViolation("type", column.name, rows, samples, "expected a finite number"))
    return violations


def cell_rules(contract: Contract, frame: pd.DataFrame, first_row: int) -> list[RuleViolation]:
    """Rules on single values that hold for every contract: keys are not blank, dates are plausible."""
    latest = pd.Timestamp.now().normalize() + pd.DateOffset(years=PLAUSIBLE_YEARS_AHEAD)
    violations = []
    for column in contract.columns:
        if column.name not in frame.columns:
            continue
        values = frame[column.name]
        if column.name in contract.key and column.type == "text":
            bad, rule, detail = (
                (values.notna() & (values.astype("string").str.strip() == "")).to_numpy(dtype=bool, na_value=False),
                "not_blank",
                "a key of blanks only",
            )
        elif column.type in ("date", "timestamp"):
            moments = pd.to_datetime(values)
            bad = (moments.notna() & ((moments < EARLIEST_PLAUSIBLE) | (moments > latest))).to_numpy()
            rule, detail = "plausible_date", f"expected between 1900 and {latest.year}"
        else:
            continue
        if bad.any():
            rows = (np.flatnonzero(bad) + first_row).tolist()
            samples = [str(v) for v in values[bad].head(SAMPLE_SIZE)]
            violations.append(RuleViolation(rule, column.name, rows, samples, detail))
    return violations
