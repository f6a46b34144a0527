"""Putting any timestamped series on a regular grid and finding its seasonal period."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)
MAX_WINDOW = 4032  # recent points the detector learns its noise from: two weeks at 5 minutes
SEASON_MARGIN = 0.9  # a season must forecast 10% better than none to be kept


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
    """Values on a regular time grid from the first timestamp to the last; a step with no
    observation is NaN (missing), never zero. Rows sharing a timestamp are parts of one
    observation and are summed (a day's spend over its invoices).

    Each timestamp goes to the nearest grid point, not the one before it, so a reading taken a
    minute early keeps its own slot. When jitter still brings two timestamps into one slot, the
    slot holds their mean: both are readings of the same step, and adding them would double a
    gauge such as a speed or a CPU level."""
    step = step if step is not None else infer_step(times)
    series = pd.Series(
        pd.to_numeric(values, errors="coerce").to_numpy(dtype=float),
        index=pd.DatetimeIndex(pd.to_datetime(times).to_numpy()),
    )
    series = series[series.index.notna()].sort_index()
    if isinstance(step, str):
        return series.resample(step).sum(min_count=1)
    if series.empty:
        return series
    start = series.index[0]
    readings = series.groupby(level=0).sum(min_count=1)
    slots = start + ((readings.index - start) / step).round().astype("int64") * step
    gridded = readings.groupby(slots).mean()
    return gridded.reindex(pd.date_range(start, gridded.index[-1], freq=step))


def candidate_periods(step: str | pd.Timedelta, length: int, cycles: int = 3) -> list[int]:
    """The seasonal periods that make sense for a step, in points: a day and a week for data
    sampled more often than daily, a week for daily data, a year for weekly, monthly and quarterly
    data. A period is offered only when the history holds `cycles` of it: a season seen once or
    twice cannot be told from chance, so a short series gets none."""
    if step == "MS":
        periods = [12]
    elif step == "QS":
        periods = [4]
    elif step < DAY - pd.Timedelta(hours=1):
        periods = [int(round(DAY / step)), int(round(7 * DAY / step))]
    elif abs(step - DAY) < pd.Timedelta(hours=1):
        periods = [7]
    elif abs(step - 7 * DAY) < pd.Timedelta(hours=12):
        periods = [52]
    else:
        periods = []
    return [p for p in periods if p > 1 and length >= cycles * p]


def _mad(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(np.abs(values - np.median(values)))) if len(values) else np.inf


def _forecast_errors(x: np.ndarray, period: int, lags: int, window: int) -> np.ndarray:
    """One-step-ahead errors of the detector's own forecast: the median of the same point in the
    previous `lags` cycles (or of the previous `lags` points without a season), corrected by the
    median error of the previous `window` points."""
    past = np.column_stack([np.r_[np.full(k * period, np.nan), x[: -k * period]] for k in range(1, lags + 1)])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        raw = x - np.nanmedian(past, axis=1)
    bias = pd.Series(raw).shift(1).rolling(window, min_periods=1).median().to_numpy()
    return raw - bias


def _miss(errors: np.ndarray) -> float:
    """How far a forecast misses: the mean absolute error (the scale MASE uses). Unlike a median it
    counts the few points of every cycle a wrong season gets badly wrong, which are the false
    alerts that season would raise."""
    errors = errors[np.isfinite(errors)]
    return float(np.mean(np.abs(errors - np.median(errors)))) if len(errors) else np.inf


def infer_period(values: pd.Series, step: str | pd.Timedelta, window: int | None = None) -> int:
    """The seasonal period the data supports: of no season and each candidate period, the one
    whose forecasts (made as the detector makes them) miss by the least. A season is kept only
    when it beats the simpler choice by a clear margin."""
    x = values.to_numpy(dtype=float)
    best, best_miss = 1, _miss(_forecast_errors(x, 1, 7, window or 56)) if len(x) > 8 else np.inf
    for period in candidate_periods(step, int(values.notna().sum())):
        miss = _miss(_forecast_errors(x, period, 4, window or min(8 * period, MAX_WINDOW)))
        if miss < SEASON_MARGIN * best_miss:
            best, best_miss = period, miss
    return best


def value_resolution(values: pd.Series | np.ndarray) -> float:
    """The smallest step between distinct values: 1 for counts, 0.1 for percentages with one
    decimal, a cent for money. The noise of a series cannot be measured finer than this."""
    x = np.asarray(values, dtype=float)
    distinct = np.unique(np.round(x[np.isfinite(x)], 9))
    steps = np.diff(distinct)
    return float(steps.min()) if len(steps) else 0.0


def log_offset(values: pd.Series | np.ndarray) -> float | None:
    """What to add before taking logs: nothing for positive series, one resolution step for
    counts and amounts that touch zero; None when the series goes negative (no log scale)."""
    x = np.asarray(values, dtype=float)
    observed = x[np.isfinite(x)]
    if not len(observed) or (observed < 0).any():
        return None
    if (observed > 0).all():
        return 0.0
    resolution = value_resolution(observed)
    return resolution if resolution > 0 else None


def prefers_log(values: pd.Series, period: int) -> bool:
    """Whether noise grows with the level (model on the log scale) or stays put (raw scale).

    Changes one cycle apart are compared between the busier and the quieter half of the points:
    on the right scale their spread is about the same in both halves."""
    offset = log_offset(values)
    if offset is None:
        return False
    x = values.to_numpy(dtype=float) + offset
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
