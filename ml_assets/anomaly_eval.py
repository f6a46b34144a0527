"""Judging anomaly alerts against labelled incidents, and the plain baseline they are judged beside.

The baseline is the textbook rolling z-score: the mean and standard deviation of the previous 30
points, an alert whenever |z| > 3, one alert per point. It knows nothing of weekdays, trends or
level shifts, which is exactly what a detector has to do better than.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_assets.timeseries import regular_series


def rolling_zscore(
    frame: pd.DataFrame,
    time_column: str,
    value_column: str,
    series_column: str | None = None,
    window: int = 30,
    threshold: float = 3.0,
) -> pd.DataFrame:
    """Points whose value is more than `threshold` standard deviations from the mean of the
    `window` points before it (the point itself is left out of its own baseline). Columns: the
    series (when given), start_time and end_time (both the point's time) and the z-score."""
    groups = frame.groupby(series_column, sort=True) if series_column else [(None, frame)]
    alerts = []
    for key, group in groups:
        series = regular_series(group[time_column], group[value_column])
        previous = series.shift(1).rolling(window, min_periods=window)
        z = (series - previous.mean()) / previous.std().replace(0.0, np.nan)
        hits = z[z.abs() > threshold]
        alerts.append(
            pd.DataFrame(
                {
                    **({series_column: key} if series_column else {}),
                    "start_time": hits.index,
                    "end_time": hits.index,
                    "score": hits.to_numpy().round(2),
                }
            )
        )
    columns = ([series_column] if series_column else []) + ["start_time", "end_time", "score"]
    return pd.concat(alerts, ignore_index=True)[columns] if alerts else pd.DataFrame(columns=columns)


def evaluate_alerts(
    alerts: pd.DataFrame,
    incidents: pd.DataFrame,
    series_months: float,
    tolerance: pd.Timedelta = pd.Timedelta(days=1),
    series_column: str = "series",
    time_column: str = "time",
) -> dict:
    """Precision, recall, F1 and false alerts per series per month of `alerts` (columns
    `series_column`, start_time, end_time) against labelled `incidents` (columns `series_column`,
    `time_column`). An alert detects an incident of its series when the incident's time lies in
    [start_time - tolerance, end_time + tolerance]. Each incident is matched by at most one alert: a second
    alert for the same incident is a false alert, since a storm of alerts is noise to whoever
    reads them. `series_months` is the number of series times the months they were watched."""
    alerts = alerts.assign(start=pd.to_datetime(alerts["start_time"]), end=pd.to_datetime(alerts["end_time"]))
    truth = pd.to_datetime(incidents[time_column])
    matched_alerts, detected = set(), 0
    for position in np.argsort(truth.to_numpy(), kind="stable"):
        series, when = incidents[series_column].iloc[position], truth.iloc[position]
        candidates = alerts[
            (alerts[series_column] == series)
            & (alerts["start"] - tolerance <= when)
            & (alerts["end"] + tolerance >= when)
            & ~alerts.index.isin(matched_alerts)
        ]
        if len(candidates):
            matched_alerts.add(candidates.index[0])
            detected += 1
    true_alerts = len(matched_alerts)
    false_alerts = len(alerts) - true_alerts
    precision = true_alerts / len(alerts) if len(alerts) else 0.0
    recall = detected / len(incidents) if len(incidents) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "alerts": int(len(alerts)),
        "true_alerts": true_alerts,
        "false_alerts": int(false_alerts),
        "incidents": int(len(incidents)),
        "detected": detected,
        "false_alerts_per_series_month": round(false_alerts / series_months, 4) if series_months else None,
    }


def merge_flags(flagged: np.ndarray, gap: int = 12) -> list[np.ndarray]:
    """Flagged point positions grouped into alerts: two flagged points closer than `gap` points
    belong to the same alert, so a burst of flags is read as the one event it is."""
    positions = np.flatnonzero(np.asarray(flagged, dtype=bool))
    if not len(positions):
        return []
    return np.split(positions, np.flatnonzero(np.diff(positions) >= gap) + 1)


def score_windows(
    times: pd.Series, flagged: np.ndarray, windows: list[tuple], probation: float = 0.15, gap: int = 12
) -> dict:
    """Event-level counts for one series against labelled windows (NAB's convention).

    Flags in the first `probation` share of the points are ignored (a detector is still learning
    there); the rest are merged into alerts (`merge_flags`). An alert is true when one of its points
    lies in a window; a window is found when an alert point lies in it. `days` is the time watched
    after probation, the denominator of false alerts per series per day."""
    times = pd.to_datetime(pd.Series(times)).to_numpy()
    flagged = np.asarray(flagged, dtype=bool).copy()
    start = int(np.floor(probation * len(times)))
    flagged[:start] = False
    in_window = np.zeros(len(times), dtype=bool)
    for first, last in windows:
        in_window |= (times >= np.datetime64(pd.Timestamp(first))) & (times <= np.datetime64(pd.Timestamp(last)))
    alerts = merge_flags(flagged, gap)
    found = sum(
        bool(
            flagged[(times >= np.datetime64(pd.Timestamp(first))) & (times <= np.datetime64(pd.Timestamp(last)))].any()
        )
        for first, last in windows
    )
    watched = (times[-1] - times[start]) / np.timedelta64(1, "D") if len(times) > start else 0.0
    return {
        "alerts": len(alerts),
        "true_alerts": int(sum(bool(in_window[a].any()) for a in alerts)),
        "windows": len(windows),
        "found": int(found),
        "days": float(watched),
    }


def summarise_windows(counts: list[dict]) -> dict:
    """Precision (alerts inside a window), recall (windows found), their F1 and false alerts per
    series per day, summed over the series of `score_windows`."""
    alerts = sum(c["alerts"] for c in counts)
    true_alerts = sum(c["true_alerts"] for c in counts)
    windows, found = sum(c["windows"] for c in counts), sum(c["found"] for c in counts)
    days = sum(c["days"] for c in counts)
    precision = true_alerts / alerts if alerts else 0.0
    recall = found / windows if windows else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "f1": round(f1, 3),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "false_alerts_per_series_day": round((alerts - true_alerts) / days, 3) if days else None,
        "alerts": alerts,
        "true_alerts": true_alerts,
        "windows": windows,
        "found": found,
        "series": len(counts),
    }
