"""Read a delivered file into a DataFrame typed by its contract, noting every cell that won't parse."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.contracts import Contract
from ingestion.validation import SAMPLE_SIZE, RuleViolation

TRUE_WORDS = {"true", "t", "1", "yes", "y"}
FALSE_WORDS = {"false", "f", "0", "no", "n"}


def read_source_file(path: Path) -> pd.DataFrame:
    """Every cell as text (empty -> missing); types come from the contract, not from guessing."""
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path).astype("string")
    return pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""], compression="infer")


def _convert(series: pd.Series, type_: str) -> pd.Series:
    text = series.str.strip()
    if type_ == "text":
        return series
    if type_ in ("integer", "numeric"):
        numbers = pd.to_numeric(text, errors="coerce")
        if type_ == "integer":
            whole = numbers.where(np.isclose(numbers % 1, 0) | numbers.isna())
            return whole.astype("Int64")
        return numbers.astype("Float64")
    if type_ in ("date", "timestamp"):
        moments = pd.to_datetime(text, errors="coerce", format="ISO8601")
        return moments.dt.normalize() if type_ == "date" else moments
    if type_ == "boolean":
        lowered = text.str.lower()
        return lowered.map(lambda v: True if v in TRUE_WORDS else False if v in FALSE_WORDS else pd.NA,
                           na_action="ignore").astype("boolean")
    raise ValueError(f"unknown contract type {type_!r}")


def apply_contract_types(contract: Contract, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[RuleViolation]]:
    """Cast each contract column; a present value that fails to parse is a `type` violation."""
    typed = frame.copy()
    violations = []
    for column in contract.columns:
        if column.name not in frame.columns:
            continue
        converted = _convert(frame[column.name], column.type)
        unparsed = frame[column.name].notna() & converted.isna()
        if unparsed.any():
            rows = (np.flatnonzero(unparsed.to_numpy()) + 1).tolist()
            samples = frame.loc[unparsed, column.name].head(SAMPLE_SIZE).tolist()
            violations.append(RuleViolation("type", column.name, rows, [str(s) for s in samples],
                                            f"expected {column.type}"))
        typed[column.name] = converted
    return typed, violations
