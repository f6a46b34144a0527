"""Time as float days since the first day of the history: cheap to draw and compare in numpy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Timeline:
    as_of: date  # the export date: data runs to the day before
    months: int

    @property
    def start(self) -> pd.Timestamp:
        return (pd.Timestamp(self.as_of) - pd.DateOffset(months=self.months - 1)).to_period("M").start_time

    @property
    def end(self) -> float:
        """Day number of `as_of` (exclusive end of every history)."""
        return float((pd.Timestamp(self.as_of) - self.start).days)

    def moments(self, days) -> np.ndarray:
        """Day numbers -> datetime64[s], rounded down to the second."""
        seconds = np.floor(np.asarray(days, dtype=float) * 86400.0)
        out = np.datetime64(self.start, "s") + np.nan_to_num(seconds).astype("timedelta64[s]")
        return np.where(np.isnan(seconds), np.datetime64("NaT"), out)

    def dates(self, days) -> np.ndarray:
        """Day numbers -> datetime64[D] (midnight of the day the moment falls in)."""
        return self.moments(days).astype("datetime64[D]")

    def day_of(self, when) -> np.ndarray:
        """Dates or timestamps -> day numbers."""
        return (np.asarray(when, dtype="datetime64[s]") - np.datetime64(self.start, "s")) / np.timedelta64(1, "D")

    def month_starts(self) -> np.ndarray:
        """Day number of the first of each month in the history (the as_of month included)."""
        months = pd.date_range(self.start, pd.Timestamp(self.as_of), freq="MS")
        return self.day_of(months.to_numpy())

    def month_ends(self) -> np.ndarray:
        """Day number of the last day of each month in the history."""
        months = pd.date_range(self.start, pd.Timestamp(self.as_of), freq="MS") + pd.offsets.MonthEnd(0)
        return self.day_of(months.to_numpy())


def ids(prefix: str, numbers, width: int) -> np.ndarray:
    """Vectorised `f"{prefix}{n:0{width}d}"`."""
    return np.char.add(prefix, np.char.zfill(np.asarray(numbers).astype(str), width))


def labels(categories: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """Repeated ids as a categorical: millions of rows without a Python string per row."""
    return pd.Categorical.from_codes(codes, categories=categories)


def weekday(dates) -> np.ndarray:
    """0 = Monday ... 6 = Sunday."""
    return (np.asarray(dates, dtype="datetime64[D]").astype("int64") + 3) % 7
