"""Spend anomalies: a robust, weekly-seasonal z-score per series.

The expected value of a day is the median of the same weekday over the previous weeks, so a quiet
weekend is not an anomaly; the spread is the MAD of recent residuals. Medians and MADs are not
dragged by the very outliers being looked for, unlike means and standard deviations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


@dataclass(frozen=True)
class AnomalyParams:
    season: int = 7  # periods per cycle (7 for daily data with a weekly rhythm)
    seasons_back: int = 4  # how many earlier cycles give the expected value
    window: int = 28  # periods of residuals that give the spread
    threshold: float = 4.0


def _score_series(values: pd.Series, params: AnomalyParams) -> tuple[pd.Series, pd.Series]:
    lags = pd.concat([values.shift(params.season * k) for k in range(1, params.seasons_back + 1)], axis=1)
    expected = lags.median(axis=1, skipna=False)
    residual = values - expected
    trailing = residual.shift(1).rolling(params.window, min_periods=params.window // 2)
    spread = trailing.apply(lambda w: np.nanmedian(np.abs(w - np.nanmedian(w))), raw=True) * MAD_TO_SIGMA
    # A floor on the spread keeps near-constant series from flagging cent-sized wobbles.
    spread = spread.clip(lower=0.01 * expected.abs().clip(lower=1e-9))
    return expected, residual / spread


def flag_anomalies(frame: pd.DataFrame, time_column: str, value_column: str, series_column: str,
                   params: AnomalyParams = AnomalyParams()) -> pd.DataFrame:
    """Rows whose value is more than `threshold` robust deviations from its seasonal expectation."""
    flagged = []
    for _, group in frame.sort_values(time_column).groupby(series_column, sort=True):
        expected, score = _score_series(group[value_column].astype(float).reset_index(drop=True), params)
        hits = group.reset_index(drop=True).assign(expected=expected, robust_z=score)[score.abs() > params.threshold]
        flagged.append(hits.assign(direction=np.where(hits["robust_z"] > 0, "spike", "drop")))
    columns = [series_column, time_column, value_column, "expected", "robust_z", "direction"]
    result = pd.concat(flagged, ignore_index=True)[columns] if flagged else pd.DataFrame(columns=columns)
    return result.round({"expected": 2, "robust_z": 2})
