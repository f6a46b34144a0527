"""Anomalies in any timestamped series: spikes, drops and level shifts, one incident each.

Each series is put on a regular grid at its own cadence (a missing step is a gap, never a zero).
The seasonal periods that make sense for that cadence are tried (a day and a week for sub-daily
data, a week for daily data; none when the history is shorter than three cycles) and the one whose
forecasts miss by the least is kept (`ml_assets.timeseries.infer_period`). Positive series whose
noise grows with their level are modelled on the log scale, so a weekend that is half of a weekday
stays half as the series grows; series with steady noise stay on their own scale.

Then, walking forward in time, a point's expected value is the median of the same point in the
previous `seasons_back` cycles (of the previous 7 points without a season), corrected by the median
of recent residuals (which is what a trend leaves behind). The spread is a robust standard
deviation of recent residuals (MAD-trimmed; the mean absolute deviation when quantized values make
the MAD zero), never below the value resolution (one step of a count, a percentage or a cent).
A point is flagged when its robust z-score passes `threshold / sensitivity`, and also the series'
own 99.5th percentile of recent |z| (never above the 10th largest, so past anomalies do not count as
noise) times `tail_factor`: heavy-tailed metrics (request counts, tweets) raise their own bar
instead of alerting on every burst. A flagged point is replaced by its
expectation in the history, so an outlier never inflates the baseline that judges the next one.

When `shift_run` flagged points in a row lie on the same side, the series has moved to a new level:
the history is shifted by the run's median offset and the points are taken as the new normal. The
run is a fixed number of points, so recovery does not take longer at a finer cadence, and a level
shift gives one incident (its start and the point it was confirmed). Flagged points of one sign no
more than `merge_gap` points apart form one incident, with its start, peak and end.

`attribute` names the sub-series (department, application, service ...) that drove an anomaly in
a total: each sub-series is scored the same way and its excess over expectation during the
incident is compared with the others'.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_assets.timeseries import (
    MAX_WINDOW,
    infer_period,
    infer_step,
    log_offset,
    prefers_log,
    regular_series,
    value_resolution,
)

MAD_TO_SIGMA = 1.4826  # the MAD of a normal sample times this estimates its standard deviation
TRIMMED_SD_AT_3 = 0.9866  # standard deviation of a normal sample cut at +-3 sigma, in sigmas
TAIL_RANK = 10  # the tail is read no higher than the 10th largest |z|: fewer are past anomalies, not noise
TAIL_EVERY = 12  # points between updates of the tail quantile (it moves slowly; sorting is not free)
MEAN_AD_TO_SIGMA = 1.2533  # the mean absolute deviation of a normal sample times this estimates its sd
POINT_COLUMNS = ["time", "value", "expected", "lower", "upper", "score", "flagged", "direction", "level_shift"]
INCIDENT_COLUMNS = ["kind", "start_time", "end_time", "peak_time", "value", "expected", "score", "change", "points"]


@dataclass(frozen=True)
class DetectorParams:
    """How the detector judges a point. Higher `sensitivity` means more alerts."""

    sensitivity: float = 1.0
    threshold: float = 4.0  # robust z-score that flags a point at sensitivity 1
    period: int | None = None  # points per seasonal cycle; None: inferred (1: no season)
    seasons_back: int = 4  # earlier cycles whose median gives the expected value
    window: int | None = None  # recent residuals for the trend correction and spread; None: 8 cycles, <= 4032
    shift_run: int = 4  # flagged points in a row on one side that make a level shift
    merge_gap: int = 1  # normal points allowed inside one incident
    transform: str = "auto"  # "log", "none", or "auto" (log when positive and the noise grows with the level)
    tail_quantile: float = 0.995  # quantile of the recent |z-scores| a point must also pass ...
    tail_factor: float = 1.6  # ... times this, so heavy-tailed noise raises its own bar


@dataclass
class _Walk:
    """The state of one forward pass over one regular series."""

    clean: np.ndarray  # the history with outliers replaced and level shifts aligned
    residuals: deque  # value minus lag median of recent unflagged points; their median is the trend bias
    expected: np.ndarray
    spread: np.ndarray
    score: np.ndarray
    bar: np.ndarray  # the |z| a point had to pass: the threshold, or the series' own tail when higher
    shift: np.ndarray


def _robust_spread(residuals: np.ndarray, centre: float) -> float:
    """Standard deviation of the residuals within 3 MAD-sigmas of their median, rescaled to a full
    normal's: as robust as the MAD but about twice as steady on a few weeks of points. When most
    residuals are equal (quantized data: the MAD is zero), the mean absolute deviation stands in,
    since it still sees the steps the MAD ignores."""
    deviation = np.abs(residuals - centre)
    mad_sigma = MAD_TO_SIGMA * float(np.median(deviation))
    if mad_sigma == 0:
        return MEAN_AD_TO_SIGMA * float(np.mean(deviation))
    inside = residuals[deviation <= 3 * mad_sigma]
    if len(inside) < 3:
        return mad_sigma
    return float(np.sqrt(np.mean((inside - centre) ** 2))) / TRIMMED_SD_AT_3


def _lags(clean: np.ndarray, t: int, period: int, count: int) -> np.ndarray:
    lags = clean[[t - k * period for k in range(1, count + 1) if t - k * period >= 0]]
    return lags[np.isfinite(lags)]


def _tail(scores: np.ndarray, quantile: float) -> float:
    """The `quantile` of recent |z|, but never above the TAIL_RANK-th largest: on a short history the
    top percent is a handful of points, and those are the real anomalies of the past, which must
    not raise the bar for the next one."""
    rank = max(TAIL_RANK, int(np.ceil((1 - quantile) * len(scores))))
    if rank >= len(scores):
        return 0.0
    return float(np.partition(scores, len(scores) - rank)[len(scores) - rank])


def default_window(period: int) -> int:
    """Residuals that set the trend correction and the spread: eight cycles (eight weeks of daily
    data), at most two weeks of 5-minute points so a fine cadence does not slow the walk."""
    return min(8 * (period if period > 1 else 7), MAX_WINDOW)


def _walk(y: np.ndarray, period: int, params: DetectorParams, floor) -> _Walk:
    """`floor(expected)`: the smallest spread the data can show at that expected value."""
    n = len(y)
    window = params.window or default_window(period)
    lag_count = params.seasons_back if period > 1 else max(params.seasons_back, 7)
    threshold = params.threshold / params.sensitivity
    settled = min(window // 2, 14)  # residuals needed before the spread is trusted
    warmup = period + settled
    state = _Walk(
        y.copy(),
        deque(maxlen=window),
        np.full(n, np.nan),
        np.full(n, np.nan),
        np.full(n, np.nan),
        np.full(n, np.inf),
        np.zeros(n, dtype=bool),
    )
    run: list[int] = []  # flagged points in a row on one side, not yet judged
    seen = deque(maxlen=MAX_WINDOW)  # |z| of recent points, flagged or not: what this series calls usual
    tail = 0.0
    for t in range(n):
        if not np.isfinite(y[t]):
            continue  # a missing point neither breaks nor extends a run
        lags = _lags(state.clean, t, period, lag_count)
        if not len(lags):
            run = []
            continue
        recent = np.array(state.residuals) if state.residuals else np.zeros(1)
        bias = float(np.median(recent))
        expected = float(np.median(lags)) + bias
        spread = max(_robust_spread(recent, bias), floor(expected))
        residual = y[t] - expected
        state.expected[t], state.spread[t] = expected, spread
        if t < warmup or len(state.residuals) < settled:
            state.residuals.append(residual + bias)
            continue
        state.score[t] = residual / spread
        if len(seen) >= settled and t % TAIL_EVERY == 0:
            tail = params.tail_factor * _tail(np.fromiter(seen, float), params.tail_quantile) / params.sensitivity
        state.bar[t] = max(threshold, tail)
        if abs(state.score[t]) <= state.bar[t]:
            seen.append(abs(state.score[t]))
            state.residuals.append(residual + bias)
            run = []
            continue
        seen.append(abs(state.score[t]))  # so a series full of bursts learns that bursts are its usual
        state.clean[t] = expected  # an outlier must not shape the baseline
        run = run + [t] if run and np.sign(state.score[run[-1]]) == np.sign(residual) else [t]
        if len(run) >= params.shift_run:
            # A level shift is accepted after a fixed number of points, not a share of a cycle,
            # so recovery does not take longer as the sampling gets finer.
            offset = float(np.median(y[run] - state.expected[run]))
            state.clean[: run[0]] += offset
            state.clean[run] = y[run]
            state.shift[run] = True
            state.residuals.extend(y[run] - state.expected[run] - offset + bias)
            run = []
    return state


def score_series(times: pd.Series, values: pd.Series, params: DetectorParams = DetectorParams()) -> pd.DataFrame:
    """Every point of one series on its regular grid: value, expected value, the band outside which
    it would be flagged, robust z-score, whether it was flagged, its direction and whether it
    belongs to a level shift."""
    step = infer_step(times)
    series = regular_series(times, values, step)
    offset = log_offset(series)
    period = params.period
    if not period:
        # The season is judged on the scale the detector will likely use (decided from
        # neighbouring points), then the scale is settled with that season.
        guess = (
            offset is not None and params.transform != "none" and (params.transform == "log" or prefers_log(series, 1))
        )
        period = infer_period(np.log(series + offset) if guess else series, step, params.window)
    log_scale = offset is not None and (
        params.transform == "log" or (params.transform == "auto" and prefers_log(series, period))
    )
    resolution = value_resolution(series)
    if log_scale:
        y = np.log(series.to_numpy() + offset)

        def to_value(a):
            return np.exp(a) - offset

        # One resolution step above the expected value, measured on the log scale.
        def floor(expected):
            return float(np.log1p(resolution / np.exp(expected)))
    else:
        y = series.to_numpy()

        def to_value(a):
            return a

        def floor(expected):
            return resolution

    walk = _walk(y, period, params, floor)
    bar = np.where(np.isfinite(walk.bar), walk.bar, params.threshold / params.sensitivity)
    lower, upper = walk.expected - bar * walk.spread, walk.expected + bar * walk.spread
    flagged = np.abs(np.nan_to_num(walk.score)) > walk.bar
    return pd.DataFrame(
        {
            "time": series.index,
            "value": series.to_numpy(),
            "expected": to_value(walk.expected),
            "lower": to_value(lower),
            "upper": to_value(upper),
            "score": walk.score,
            "flagged": flagged,
            "direction": np.where(flagged, np.where(np.nan_to_num(walk.score) > 0, "up", "down"), ""),
            "level_shift": walk.shift,
        }
    )


def score_points(
    frame: pd.DataFrame,
    time_column: str,
    value_column: str,
    series_column: str | None = None,
    params: DetectorParams = DetectorParams(),
) -> pd.DataFrame:
    """`score_series` for every series in a long frame (one series when `series_column` is None)."""
    if series_column is None:
        return score_series(frame[time_column], frame[value_column], params)
    parts = [
        score_series(group[time_column], group[value_column], params).assign(**{series_column: key})
        for key, group in frame.groupby(series_column, sort=True)
    ]
    if not parts:
        return pd.DataFrame(columns=[series_column, *POINT_COLUMNS])
    points = pd.concat(parts, ignore_index=True)
    return points[[series_column, *POINT_COLUMNS]]


def _incidents_of_series(points: pd.DataFrame, merge_gap: int) -> list[dict]:
    flagged = np.flatnonzero(points["flagged"].to_numpy())
    groups: list[list[int]] = []
    for i in flagged:
        if (
            groups
            and i - groups[-1][-1] <= merge_gap + 1
            and points["direction"].iat[i] == points["direction"].iat[groups[-1][-1]]
        ):
            groups[-1].append(i)
        else:
            groups.append([i])
    incidents = []
    for group in groups:
        part = points.iloc[group]
        peak = part.index[int(np.argmax(np.abs(part["score"].to_numpy())))]
        up = part["direction"].iat[0] == "up"
        is_shift = bool(part["level_shift"].any())
        if is_shift:
            run = part[part["level_shift"]]
            change = float(np.median(run["value"] / run["expected"]) - 1) if (run["expected"] != 0).all() else np.nan
        else:
            change = (
                float(points.at[peak, "value"] / points.at[peak, "expected"] - 1)
                if points.at[peak, "expected"]
                else np.nan
            )
        incidents.append(
            {
                "kind": "level_shift" if is_shift else "spike" if up else "drop",
                "start_time": part["time"].iat[0],
                "end_time": part["time"].iat[-1],
                "peak_time": points.at[peak, "time"],
                "value": float(points.at[peak, "value"]),
                "expected": round(float(points.at[peak, "expected"]), 4),
                "score": round(float(points.at[peak, "score"]), 2),
                "change": round(change, 4),
                "points": len(group),
            }
        )
    return incidents


def incidents_from_points(
    points: pd.DataFrame, series_column: str | None = None, params: DetectorParams = DetectorParams()
) -> pd.DataFrame:
    """Collapse flagged points into incidents: one row per spike, drop or level shift with its
    start_time, end_time, peak_time, value and expected value at the peak, peak score (robust z),
    relative change (at the peak; the run's median for a level shift) and the number of flagged points."""
    columns = ([series_column] if series_column else []) + INCIDENT_COLUMNS
    rows = []
    groups = points.groupby(series_column, sort=True) if series_column else [(None, points)]
    for key, group in groups:
        for incident in _incidents_of_series(group.reset_index(drop=True), params.merge_gap):
            rows.append({**({series_column: key} if series_column else {}), **incident})
    return pd.DataFrame(rows, columns=columns)


def detect(
    frame: pd.DataFrame,
    time_column: str,
    value_column: str,
    series_column: str | None = None,
    params: DetectorParams = DetectorParams(),
) -> pd.DataFrame:
    """Incidents in every series of a long frame (see `incidents_from_points`)."""
    points = score_points(frame, time_column, value_column, series_column, params)
    return incidents_from_points(points, series_column, params)


def detect_with_total(
    frame: pd.DataFrame,
    time_column: str,
    value_column: str,
    series_column: str,
    params: DetectorParams = DetectorParams(),
) -> pd.DataFrame:
    """Incidents of every series and of their total, told apart by `scope` (`series_column` or
    "total"; the total's rows have no series). A total's incident names the series that drove it
    (`driver`, `driver_share`, `drivers` as in `attribute`), since several small moves that no series
    shows alone can add up to one in the total."""
    per_series = detect(frame, time_column, value_column, series_column, params).assign(scope=series_column)
    totals = frame.groupby(time_column, as_index=False)[value_column].sum()
    overall = detect(totals, time_column, value_column, None, params)
    overall = attribute(frame, overall, time_column, value_column, series_column, None, params)
    overall = overall.assign(scope="total", **{series_column: None})
    parts = [part for part in (per_series, overall) if len(part)]
    if not parts:
        return per_series.assign(driver=None, driver_share=None, drivers=None).iloc[:0]
    return pd.concat(parts, ignore_index=True)[
        [series_column, "scope", *INCIDENT_COLUMNS, "driver", "driver_share", "drivers"]
    ]


def attribute(
    frame: pd.DataFrame,
    incidents: pd.DataFrame,
    time_column: str,
    value_column: str,
    breakdown_column: str,
    series_column: str | None = None,
    params: DetectorParams = DetectorParams(),
    top: int = 3,
) -> pd.DataFrame:
    """The incidents with the sub-series that drove them: `driver` (the breakdown value whose excess
    over its own expectation, summed over the incident, goes furthest in the incident's direction),
    `driver_share` (its part of all sub-series' excess) and `drivers` (JSON, the `top` of them).
    `frame` holds the parts of each total, one row per time, series and breakdown value."""
    if incidents.empty:
        return incidents.assign(
            driver=pd.Series(dtype=object), driver_share=pd.Series(dtype=float), drivers=pd.Series(dtype=object)
        )
    parts = frame.groupby(([series_column] if series_column else []) + [breakdown_column, time_column], as_index=False)[
        value_column
    ].sum()
    keys = [series_column, breakdown_column] if series_column else [breakdown_column]
    scored = []
    for key, group in parts.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        points = score_series(group[time_column], group[value_column], params)
        points["excess"] = points["value"] - points["expected"]
        scored.append(points.assign(**dict(zip(keys, key, strict=True))))
    points = pd.concat(scored, ignore_index=True)
    drivers, driver, share = [], [], []
    for incident in incidents.itertuples(index=False):
        inside = points["time"].between(incident.start_time, incident.end_time)
        if series_column:
            inside &= points[series_column] == getattr(incident, series_column)
        by_part = points[inside].groupby(breakdown_column)["excess"].sum()
        sign = 1.0 if incident.kind == "spike" or (incident.kind == "level_shift" and incident.change > 0) else -1.0
        pushed = (by_part * sign).sort_values(ascending=False)
        total = pushed[pushed > 0].sum()
        ranked = [
            {
                "part": str(name),
                "excess": round(float(value * sign), 2),
                "share": round(float(value / total), 3) if total > 0 else None,
            }
            for name, value in pushed.head(top).items()
        ]
        drivers.append(json.dumps(ranked))
        driver.append(ranked[0]["part"] if ranked and pushed.iloc[0] > 0 else None)
        share.append(ranked[0]["share"] if ranked and pushed.iloc[0] > 0 else None)
    return incidents.assign(driver=driver, driver_share=share, drivers=drivers)
