"""Reading a feature table: which columns are features, of what kind, and what the label says.

A feature table is whatever a mart produces: an id column, a label column, maybe a snapshot-time
column, and any number of other columns. Numbers (and booleans) are numeric features; text and
categories are categorical features; dates and columns that look like identifiers (text with a
distinct value on most rows) are left out, because a model that learns an id learns nothing that
carries over to new rows.
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

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def _looks_like_identifier(values: pd.Series) -> bool:
    distinct = values.nunique(dropna=True)
    return distinct > 50 and distinct > 0.5 * values.notna().sum()


def split_features(frame: pd.DataFrame, id_column: str, label_column: str, time_column: str | None = None,
                   exclude: tuple[str, ...] = ()) -> FeatureSpec:
    """Sort every column other than id, label, time and `exclude` into numeric or categorical."""
    reserved = {id_column, label_column, *([time_column] if time_column else []), *exclude}
    numeric, categorical, ignored = [], [], list(exclude)
    for column in frame.columns:
        if column in reserved:
            continue
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            (numeric if values.notna().any() else ignored).append(column)
        elif pd.api.types.is_datetime64_any_dtype(values) or _looks_like_identifier(values):
            ignored.append(column)
        elif values.notna().any():
            categorical.append(column)
        else:
            ignored.append(column)
    return FeatureSpec(tuple(numeric), tuple(categorical), tuple(ignored))


def feature_matrix(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The feature columns in a fixed order: numbers as float (NaN when missing), categories as
    text with an explicit "(missing)" level, since a missing answer often says something."""
    out = {}
    for column in spec.numeric:
        out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64") if column in frame else np.nan
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
        numeric = pd.Series(np.where(words.isin(TRUE_WORDS), 1.0, np.where(words.isin(FALSE_WORDS), 0.0, np.nan)),
                            index=values.index)
    unexpected = numeric.notna() & ~numeric.isin([0.0, 1.0])
    if unexpected.any():
        raise ValueError(f"label column {values.name!r} must be binary; found {numeric[unexpected].iloc[0]!r}")
    return numeric


def time_values(values: pd.Series) -> pd.Series:
    """A snapshot-time column as something orderable: numbers stay numbers, the rest become timestamps."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, errors="raise")
