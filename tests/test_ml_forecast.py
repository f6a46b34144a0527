"""The spend forecast on series with a known trend and season, beside the seasonal-naive baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.forecast import ForecastParams, backtest, forecast, forecast_series, monthly_totals
from tests.ml_data import daily_spend


def trended_seasonal(months: int = 48, seed: int = 0) -> pd.Series:
    """Monthly spend growing by 20 a month with a 15% yearly swing and 3% noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    values = (1000 + 20 * t) * (1 + 0.15 * np.sin(2 * np.pi * t / 12)) * rng.lognormal(0, 0.03, months)
    return pd.Series(values, index=pd.date_range("2022-01-01", periods=months, freq="MS"))


def test_interval_covers_the_held_out_months():
    series = trended_seasonal()
    result = forecast_series(series.iloc[:42], ForecastParams(horizon=6))
    assert result["month"].tolist() == list(series.index[42:])
    actual = series.iloc[42:].to_numpy()
    assert ((actual >= result["lower"]) & (actual <= result["upper"])).all()
    assert (result["lower"] < result["forecast"]).all() and (result["forecast"] < result["upper"]).all()
    assert np.mean(np.abs(result["forecast"] - actual) / actual) < 0.05


def test_interval_coverage_is_near_what_was_asked():
    inside = total = 0
    for seed in range(8):
        series = trended_seasonal(seed=seed)
        result = forecast_series(series.iloc[:42], ForecastParams(horizon=6, interval=0.8))
        actual = series.iloc[42:].to_numpy()
        inside += int(((actual >= result["lower"]) & (actual <= result["upper"])).sum())
        total += len(actual)
    assert 0.7 <= inside / total <= 1.0


def test_backtest_beats_seasonal_naive_on_a_trended_seasonal_series():
    series = trended_seasonal()
    frame = pd.DataFrame({"month": series.index, "spend": series.to_numpy()})
    result = backtest(frame, "month", "spend", params=ForecastParams(horizon=3), origins=6)
    assert result["forecasts"] == 6 * 3 - 3  # the last origins run out of months to check
    assert result["baseline_seasonal_share"] == 1.0
    assert result["mape"] < 6 and result["mape"] < result["seasonal_naive_mape"] / 2
    assert result["coverage"] >= 0.8


def test_daily_spend_per_department_gives_whole_months_and_a_forecast_each():
    days = pd.concat([daily_spend(days=500, seed=s, plant=False).assign(department=d)
                      for s, d in enumerate(["IT", "Sales"])], ignore_index=True)
    days = days[days["day"] >= "2025-01-10"]  # January is no longer a whole month
    totals = monthly_totals(days, "day", "cost", "department")
    assert totals.groupby("department")["month"].min().tolist() == [pd.Timestamp("2025-02-01")] * 2
    last_day = days["day"].max()
    assert (totals["month"] < last_day.to_period("M").to_timestamp()).all()
    result = forecast(days, "day", "cost", "department", ForecastParams(horizon=4))
    assert result.groupby("department").size().to_dict() == {"IT": 4, "Sales": 4}
    assert (result["lower"] <= result["forecast"]).all() and (result["forecast"] <= result["upper"]).all()
    it = totals[totals["department"] == "IT"]["value"]
    assert result[result["department"] == "IT"]["forecast"].iloc[0] > it.iloc[-1] * 0.98  # growth continues


def test_too_short_a_history_is_refused():
    with pytest.raises(ValueError, match="at least 4 months"):
        forecast_series(trended_seasonal(months=3))
