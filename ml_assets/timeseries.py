"""Putting any timestamped series on a regular grid and finding its seasonal period."""
from __future__ import annotations

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)


def infer_step(times: pd.Series) -> str | pd.Timedelta:
    """The sampling step: "MS" (monthly) or "QS" (quarterly) for calendar steps, else the median
    gap between distinct timestamps."""
    distinct = pd.Series(pd.to_datetime(times).dropna().unique()).sort_values()
    if len(distinct) < 2:
        return DAY
    gap = distinct.diff().median()
    if pd.Timedelta(days=27) <= gap <= pd.Timedelta(days=32):
        return "MS"
    if pd.Timedelta(days=88) <= gap <= pd.Timedelta(days=93):
        return "QS"
    return gap


def regular_series(times: pd.Series, values: pd.Series, step: str | pd.Timedelta | None = None) -> pd.Series:
    """Values summed onto a regular time grid from the first timestamp to the last; a step with
    no observation is NaN (missing), never zero."""
    step = step if step is not None else infer_step(times)
    series = pd.Series(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float),
                       index=pd.DatetimeIndex(pd.to_datetime(times).to_numpy()))
    series = series[series.index.notna()].sort_index()
    if isinstance(step, str):
        return series.resample(step).sum(min_count=1)
    return series.resample(step, origin="start").sum(min_count=1)


def nominal_period(step: str | pd.Timedelta, length: int) -> int:
    """The natural cycle for a step: a day for sub-daily data, a week for daily data, a year for
    weekly, monthly and quarterly data; 1 (no season) when the history holds fewer than three cycles."""
    if step == "MS":
        period = 12
    elif step == "QS":
        period = 4
    elif step < DAY:
        period = int(round(DAY / step))
    elif abs(step - DAY) < pd.Timedelta(hours=1):
        period = 7
    elif abs(step - 7 * DAY) < pd.Timedelta(hours=12):
        period = 52
    else:
        period = 1
    return period if length >= 3 * period else 1


def _mad(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(np.abs(values - np.median(values)))) if len(values) else np.inf


def infer_period(values: pd.Series, step: str | pd.Timedelta) -> int:
    """The nominal period, kept only when it explains the series: differences one cycle apart must
    be tighter (robustly) than differences one step apart."""
    period = nominal_period(step, int(values.notna().sum()))
    if period == 1:
        return 1
    x = values.to_numpy(dtype=float)
    return period if _mad(x[period:] - x[:-period]) < _mad(x[1:] - x[:-1]) else 1


def prefers_log(values: pd.Series, period: int) -> bool:
    """Whether noise grows with the level (model on the log scale) or stays put (raw scale).

    Changes one cycle apart are compared between the busier and the quieter half of the points:
    on the right scale their spread is about the same in both halves."""
    x = values.to_numpy(dtype=float)
    observed = x[np.isfinite(x)]
    if not len(observed) or (observed <= 0).any():
        return False
    lag = max(period, 1)
    level, raw, logged = x[lag:], x[lag:] - x[:-lag], np.log(x[lag:]) - np.log(x[:-lag])
    keep = np.isfinite(raw)
    if keep.sum() < 8:
        return True
    level, raw, logged = level[keep], raw[keep], logged[keep]
    busy = level > np.median(level)
    if busy.all() or not busy.any():
        return True

    def imbalance(changes: np.ndarray) -> float:
        return abs(np.log(max(_mad(changes[busy]), 1e-12) / max(_mad(changes[~busy]), 1e-12)))

    return imbalance(logged) <= imbalance(raw)
