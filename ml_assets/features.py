"""Reading a feature table: which columns are features, of what kind, and what the label says.

A feature table is whatever a mart produces: an id column, a label column, maybe a snapshot-time
column, and any number of other columns. Numbers, booleans and text that holds numbers (with blank
cells, as spreadsheets write them) are numeric features; other text and categories are categorical
features. Left out, each with its reason: columns without a value, columns with one value on every
row, dates, and text with a distinct value on most rows (identifiers and free text), because a
model that learns an id or a comment learns nothing that carries over to new rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING = "(missing)"
TRUE_WORDS = {"1", "1.0", "true", "t", "yes", "y"}
FALSE_WORDS = {"0", "0.0", "false", "f", "no", "n"}


@dataclass(frozen=True)
class FeatureSpec:
    """The columns a model reads, by kind, and the ones it was told or chose to ignore."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    reasons: tuple[tuple[str, str], ...] = ()  # (ignored column, why), in the table's order
    numeric_text: tuple[str, ...] = ()  # numeric features delivered as text

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def ignored_with_reasons(self) -> list[dict[str, str]]:
        return [{"column": column, "reason": reason} for column, reason in self.reasons]


def _looks_like_identifier(values: pd.Series) -> bool:
    distinct = values.nunique(dropna=True)
    return distinct > 50 and distinct > 0.5 * values.notna().sum()


def _blank_as_missing(values: pd.Series) -> pd.Series:
    """Text with surrounding spaces stripped and blank cells as missing."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _numeric_text(values: pd.Series) -> bool:
    """Text whose every non-blank cell is a number ("12.5", " 3 ", "")."""
    text = _blank_as_missing(values).dropna()
    return len(text) > 0 and bool(pd.to_numeric(text, errors="coerce").notna().all())


def _dates_as_text(values: pd.Series) -> bool:
    text = _blank_as_missing(values).dropna()
    return len(text) > 0 and bool(pd.to_datetime(text, errors="coerce", format="ISO8601").notna().all())


def _why_ignored(values: pd.Series) -> str | None:
    """Why a column cannot be a feature, or None when it can."""
    present = _blank_as_missing(values) if values.dtype == object or pd.api.types.is_string_dtype(values) else values
    distinct = present.nunique(dropna=True)
    if distinct == 0:
        return "empty: no value on any row"
    if distinct == 1:
        return f"constant: {present.dropna().iloc[0]!r} on every row that has a value"
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values) or _numeric_text(values):
        return None
    if pd.api.types.is_datetime64_any_dtype(values) or _dates_as_text(values):
        return "date or time: a snapshot time is passed as --time, other dates as numbers (e.g. days since)"
    if _looks_like_identifier(present):
        rows = int(present.notna().sum())
        if present.dropna().astype(str).str.contains(r"\s").mean() > 0.5:
            return f"free text: {distinct} distinct values in {rows} rows"
        return f"identifier-like: {distinct} distinct values in {rows} rows"
    return None


def split_features(
    frame: pd.DataFrame,
    id_column: str,
    label_column: str,
    time_column: str | None = None,
    exclude: tuple[str, ...] = (),
) -> FeatureSpec:
    """Sort every column other than id, label, time and `exclude` into numeric or categorical, and
    say why each other column is left out."""
    reserved = {id_column, label_column, *([time_column] if time_column else [])}
    numeric, categorical, numeric_text, reasons = [], [], [], []
    for column in frame.columns:
        if column in reserved:
            continue
        values = frame[column]
        why = "excluded: named as no feature (--exclude)" if column in exclude else _why_ignored(values)
        if why:
            reasons.append((column, why))
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numeric.append(column)
        elif _numeric_text(values):
            numeric.append(column)
            numeric_text.append(column)
        else:
            categorical.append(column)
    return FeatureSpec(
        tuple(numeric), tuple(categorical), tuple(c for c, _ in reasons), tuple(reasons), tuple(numeric_text)
    )


def feature_matrix(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The feature columns in a fixed order: numbers as float (NaN when missing), categories as
    text with an explicit "(missing)" level, since a missing answer often says something."""
    out = {}
    for column in spec.numeric:
        if column not in frame:
            out[column] = np.nan
            continue
        values = frame[column]
        if not (pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values)):
            values = _blank_as_missing(values)  # numeric text: " 12.5" is 12.5, a blank cell is missing
        out[column] = pd.to_numeric(values, errors="coerce").astype("float64")
    for column in spec.categorical:
        values = frame[column] if column in frame else pd.Series(np.nan, index=frame.index)
        out[column] = values.astype("string").fillna(MISSING).astype(object)
    return pd.DataFrame(out, index=frame.index)


def label_values(values: pd.Series) -> pd.Series:
    """A label column as 1.0 / 0.0, NaN where unknown; accepts booleans, 0/1 and yes/no words."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    else:
        words = values.astype("string").str.strip().str.lower()
        numeric = pd.Series(
            np.where(words.isin(TRUE_WORDS), 1.0, np.where(words.isin(FALSE_WORDS), 0.0, np.nan)), index=values.index
        )
    unexpected = numeric.notna() & ~numeric.isin([0.0, 1.0])
    if unexpected.any():
        raise ValueError(f"label column {values.name!r} must be binary; found {numeric[unexpected].iloc[0]!r}")
    return numeric


def time_values(values: pd.Series) -> pd.Series:
    """A snapshot-time column as something orderable: numbers stay numbers, the rest become timestamps."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, errors="raise")
