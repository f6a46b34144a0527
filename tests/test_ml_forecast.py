"""The spend forecast on series with a known trend and season, beside the seasonal-naive baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.forecast import (
    ForecastParams,
    backtest,
    forecast,
    forecast_readiness,
    forecast_series,
    monthly_totals,
)
from tests.ml_data import daily_spend

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it


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


def random_walk_teams(months: int = 60, teams: int = 5, seed: int = 0) -> pd.DataFrame:
    """Monthly spend of several teams, each a random walk on the log scale (1% drift, 3% steps)
    with 2% noise: forecast errors grow with the horizon, as with real spend."""
    rng = np.random.default_rng(seed)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "month": pd.date_range("2020-01-01", periods=months, freq="MS"),
                    "team": f"team{t}",
                    "spend": np.exp(
                        np.log(1000 * (t + 1))
                        + np.cumsum(0.01 + rng.normal(0, 0.03, months))
                        + rng.normal(0, 0.02, months)
                    ),
                }
            )
            for t in range(teams)
        ],
        ignore_index=True,
    )


def test_conformal_interval_covers_unseen_months_as_often_as_asked():
    # Each backtest origin's interval is calibrated only on errors of months before it.
    inside = total = 0
    per_horizon = []
    for seed in range(3):
        result = backtest(random_walk_teams(seed=seed), "month", "spend", "team", ForecastParams(horizon=6), origins=24)
        inside += result["coverage"] * result["forecasts"]
        total += result["forecasts"]
        per_horizon.append(result["coverage_by_horizon"])
    assert 0.85 <= inside / total <= 0.95
    for h in range(1, 7):
        assert 0.8 <= np.mean([coverage[str(h)] for coverage in per_horizon]) <= 0.98, h


def test_conformal_interval_widens_with_the_horizon():
    result = forecast(random_walk_teams(), "month", "spend", "team", ForecastParams(horizon=6))
    width = (
        ((result["upper"] - result["lower"]) / result["forecast"]).groupby(result.groupby("team").cumcount() + 1).mean()
    )
    assert (np.diff(width.to_numpy()) > 0).all()
    assert width[6] > 1.5 * width[1]
    assert (result["lower"] < result["forecast"]).all() and (result["forecast"] < result["upper"]).all()


def test_regression_interval_is_still_available():
    series = trended_seasonal()
    conformal = forecast_series(series.iloc[:42], ForecastParams(horizon=6))
    model = forecast_series(series.iloc[:42], ForecastParams(horizon=6, calibration="model"))
    assert np.allclose(conformal["forecast"], model["forecast"])
    assert not np.allclose(conformal["upper"], model["upper"])


def test_month_length_is_not_mistaken_for_a_change_in_spend():
    # Flat spend per day: February's total is smaller, March's forecast is not.
    days = pd.date_range("2023-01-01", "2025-01-31", freq="D")
    frame = pd.DataFrame({"day": days, "cost": 100.0})
    result = forecast(frame, "day", "cost", params=ForecastParams(horizon=3))
    expected = [100.0 * d for d in result["month"].dt.days_in_month]
    assert np.allclose(result["forecast"], expected, rtol=1e-6)


def test_backtest_beats_seasonal_naive_on_a_trended_seasonal_series():
    series = trended_seasonal()
    frame = pd.DataFrame({"month": series.index, "spend": series.to_numpy()})
    result = backtest(frame, "month", "spend", params=ForecastParams(horizon=3), origins=6)
    assert result["forecasts"] == 6 * 3 - 3  # the last origins run out of months to check
    assert result["baseline_seasonal_share"] == 1.0
    assert result["mape"] < 6 and result["mape"] < result["seasonal_naive_mape"] / 2
    assert result["coverage"] >= 0.8


def test_daily_spend_per_department_gives_whole_months_and_a_forecast_each():
    days = pd.concat(
        [daily_spend(days=500, seed=s, plant=False).assign(department=d) for s, d in enumerate(["IT", "Sales"])],
        ignore_index=True,
    )
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


def _department_days(months_by_department: dict[str, int]) -> pd.DataFrame:
    """Whole months of daily spend per department, all ending on 2026-06-30."""
    parts = []
    for department, months in months_by_department.items():
        days = pd.date_range(pd.Timestamp("2026-07-01") - pd.DateOffset(months=months), "2026-06-30", freq="D")
        parts.append(pd.DataFrame({"day": days, "cost": 100.0, "department": department}))
    return pd.concat(parts, ignore_index=True)


def test_readiness_says_how_much_history_is_missing():
    params = ForecastParams()
    short = forecast_readiness(_department_days({"IT": 3, "Sales": 2}), "day", "cost", "department", params)
    assert not short.ready and short.reason == "not enough history yet: 3 whole months, need 4"
    assert short.months_by_series == {"IT": 3, "Sales": 2}
    mixed = forecast_readiness(
        _department_days({"IT": 6, "Sales": 2}), "day", "cost", "department", params, noun="department"
    )
    assert mixed.ready and mixed.reason == (
        "forecast for 1 of 2 departments (Sales: under 4 whole months); "
        "trend only: month-of-year effects need 24 whole months, have 6"
    )
    long = forecast_readiness(_department_days({"IT": 25}), "day", "cost", "department", params, noun="department")
    assert long.reason == "forecast for 1 of 1 departments; with month-of-year effects"
    nothing = forecast_readiness(_department_days({"IT": 1}).head(10), "day", "cost", "department", params)
    assert not nothing.ready and nothing.reason == "no spend to forecast yet: not one whole month of data"


def test_too_short_a_history_gives_a_typed_empty_forecast():
    result = forecast(_department_days({"IT": 3}), "day", "cost", "department")
    assert result.empty and list(result.columns) == ["department", "month", "forecast", "lower", "upper", "interval"]
    assert str(result["month"].dtype) == "datetime64[ns]" and str(result["forecast"].dtype) == "float64"
