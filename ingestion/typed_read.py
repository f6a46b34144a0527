"""Contract types on both reading paths: Arrow types for the fast parser, and the careful pandas
conversion of text cells that notes every cell that won't parse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.contracts import Contract
from ingestion.validation import SAMPLE_SIZE, RuleViolation

ARROW_TYPES = {
    "text": pa.string(),
    "integer": pa.int64(),
    # Amounts travel as the text they were delivered as, so every digit reaches the warehouse's
    # numeric; validation reads them as floats (as_numbers).
    "numeric": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
}
PANDAS_TYPES = {
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.string(): pd.StringDtype(),
}
TRUE_WORDS = {"true", "t", "1", "yes", "y"}
FALSE_WORDS = {"false", "f", "0", "no", "n"}


def arrow_types_by_header(contract: Contract, rename: dict[str, str]) -> dict[str, pa.DataType]:
    """Arrow type per delivered header, for the contract columns present in the file."""
    return {header: ARROW_TYPES[contract.column(name).type] for header, name in rename.items()}


def arrow_schema(contract: Contract) -> pa.Schema:
    return pa.schema([(c.name, ARROW_TYPES[c.type]) for c in contract.columns])


def as_numbers(contract: Contract, table: pa.Table) -> pa.Table:
    """The table with its amounts as floats, for validation; a cell that is no number raises
    pa.ArrowInvalid, as the fast parser does for the other types."""
    for column in contract.columns:
        if column.type == "numeric" and column.name in table.column_names:
            index = table.column_names.index(column.name)
            table = table.set_column(
                index, column.name, pc.cast(pc.utf8_trim_whitespace(table.column(index)), pa.float64())
            )
    return table


def exact_amounts(contract: Contract, text: pd.DataFrame, typed: pd.DataFrame) -> pd.DataFrame:
    """The typed frame with each amount that parsed as the (trimmed) text it was delivered as."""
    exact = typed.copy()
    for column in contract.columns:
        if column.type == "numeric" and column.name in typed.columns:
            exact[column.name] = text[column.name].str.strip().where(typed[column.name].notna())
    return exact


def to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(date_as_object=False, types_mapper=PANDAS_TYPES.get)


def _convert(series: pd.Series, type_: str) -> pd.Series:
    text = series.str.strip()
    if type_ == "text":
        return series
    if type_ in ("integer", "numeric"):
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
        numbers = numbers.where(np.isfinite(numbers))  # NaN and Infinity are no amounts
        if type_ == "integer":
            whole = numbers.where(np.isclose(numbers % 1, 0) & (numbers.abs() < 2**63))
            return whole.astype("Int64")
        return numbers.astype("Float64")
    if type_ in ("date", "timestamp"):
        # Each value with a UTC offset becomes that instant in UTC (offsets may differ row to row);
        # a value without one is taken as UTC already, as the fast path and COPY take it. BigQuery's
        # CSV exports (a GCP FOCUS view) name the zone: "2024-09-01 00:00:00 UTC".
        text = text.str.replace(r"\s+UTC$", "+00:00", regex=True)
        moments = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True).dt.tz_localize(None)
        return moments.dt.normalize() if type_ == "date" else moments
    if type_ == "boolean":
        lowered = text.str.lower()
        result = pd.Series(pd.NA, index=series.index, dtype="boolean")
        result[lowered.isin(TRUE_WORDS)] = True
        result[lowered.isin(FALSE_WORDS)] = False
        return result
    raise ValueError(f"unknown contract type {type_!r}")


def apply_contract_types(
    contract: Contract, frame: pd.DataFrame, first_row: int = 1
) -> tuple[pd.DataFrame, list[RuleViolation]]:
    """Cast each contract column of a text frame; a present value that fails to parse is a `type`
    violation. `first_row` is the file row number of the frame's first row."""
    typed = frame.copy()
    violations = []
    for column in contract.columns:
        if column.name not in frame.columns:
            continue
        converted = _convert(frame[column.name], column.type)
        unparsed = (frame[column.name].notna() & converted.isna()).to_numpy()
        if unparsed.any():
            rows = (np.flatnonzero(unparsed) + first_row).tolist()
            samples = frame.loc[unparsed, column.name].head(SAMPLE_SIZE).tolist()
            violations.append(
                RuleViolation("type", column.name, rows, [str(s) for s in samples], f"expected {column.type}")
            )
        typed[column.name] = converted
    return typed, violations
