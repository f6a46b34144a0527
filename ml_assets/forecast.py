"""Monthly spend forecast per series (department, application ...) with a prediction interval.

Model. Monthly totals are taken on the log scale when every month is positive (growth and
seasonality then act as percentages). A linear trend is fitted by weighted least squares with
weights halving every `trend_halflife` months, so a recent level shift or change of pace takes
over from old history. When the history holds `min_seasonal_cycles` full years, month-of-year
effects (weighted means of the detrended values, centred on zero) are estimated and the trend is
refitted on the deseasonalised values. The forecast is trend plus season; its interval is the
regression prediction interval, sigma * sqrt(1 + x'(X'WX)^-1 x) with Student's t on the effective
sample size, widened by the uncertainty of the month-of-year effects, and taken back from the log
scale. The line is moved to pass through the latest `anchor_months` (an intercept correction), so
the forecast starts from the level the series is at now, even just after a level shift.

Backtest. From each of the last `origins` months, the model is fitted on the months before it and
forecasts up to `horizon` months ahead; the seasonal-naive baseline forecasts each month with the
same month a year earlier (the last observed month while the history is under a year). MAPE,
bias and interval coverage are reported on the same origin/horizon pairs for both.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ml_assets.timeseries import infer_step


@dataclass(frozen=True)
class ForecastParams:
    horizon: int = 6  # months ahead
    interval: float = 0.9  # coverage of the prediction interval
    trend_halflife: float = 12.0  # months after which a month's weight in the trend fit halves
    min_seasonal_cycles: int = 2  # full years of history before month-of-year effects are used
    transform: str = "auto"  # "log", "none", or "auto" (log when every month is positive)
    min_history: int = 4  # months needed to fit at all
    anchor_months: int = 1  # latest residuals whose mean moves the forecast (intercept correction)


def monthly_totals(frame: pd.DataFrame, time_column: str, value_column: str,
                   series_column: str | None = None) -> pd.DataFrame:
    """Sum a series of any frequency per calendar month (column `month`, first day of the month,
    and `value`). For data finer than monthly, a first or last month that the data does not cover
    to its first and last day is dropped: half a month is not a month of spend."""
    times = pd.to_datetime(frame[time_column])
    data = pd.DataFrame({"month": times.dt.to_period("M").dt.to_timestamp(), "day": times.dt.normalize(),
                         "value": pd.to_numeric(frame[value_column], errors="coerce")})
    if series_column:
        data[series_column] = frame[series_column].to_numpy()
    keys = ([series_column] if series_column else []) + ["month"]
    totals = data.groupby(keys, as_index=False).agg(value=("value", "sum"), first=("day", "min"),
                                                    last=("day", "max"))
    step = infer_step(times)
    if not isinstance(step, str) and step <= pd.Timedelta(days=1):
        covered = (totals["first"] == totals["month"]) & (totals["last"] == totals["month"] + pd.offsets.MonthEnd(0))
        months = totals.groupby(series_column)["month"] if series_column else totals["month"]
        edge = (totals["month"] == months.transform("min")) | (totals["month"] == months.transform("max"))
        totals = totals[covered | ~edge]
    return totals[keys + ["value"]].reset_index(drop=True)


@dataclass
class _Fit:
    coef: np.ndarray
    cov_unscaled: np.ndarray
    sigma: float
    dof: float
    season: np.ndarray  # 12 month-of-year effects (zeros without seasonality)
    season_var: float  # extra variance: month-of-year effects and the anchor are estimates too
    log_scale: bool
    start_month: int  # month-of-year (0-11) of the first point
    n: int


def _wls(x: np.ndarray, z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of z on (1, x): coefficients, their covariance per unit of residual
    variance (sandwich form: the weights discount old months, they are not variances) and residuals."""
    design = np.column_stack([np.ones_like(x), x])
    inverse = np.linalg.inv(design.T @ (design * w[:, None]))
    coef = inverse @ (design.T @ (w * z))
    return coef, inverse @ (design.T @ (design * (w ** 2)[:, None])) @ inverse, z - design @ coef


def _fit(values: np.ndarray, start_month: int, params: ForecastParams) -> _Fit:
    log_scale = params.transform == "log" or (params.transform == "auto" and bool((values > 0).all()))
    z = np.log(values) if log_scale else values.astype(float)
    n = len(z)
    x = np.arange(n, dtype=float)
    w = 0.5 ** ((n - 1 - x) / params.trend_halflife)
    month = (start_month + np.arange(n)) % 12
    season = np.zeros(12)
    coef, cov, residual = _wls(x, z, w)
    seasonal = n >= 12 * params.min_seasonal_cycles
    if seasonal:
        for _ in range(2):
            detrended = z - (coef[0] + coef[1] * x)
            season = np.array([np.average(detrended[month == m], weights=w[month == m]) for m in range(12)])
            season -= season.mean()
            coef, cov, residual = _wls(x, z - season[month], w)
    # Discounted months carry less information: count the sample as its effective size.
    effective = float(np.sum(w) ** 2 / np.sum(w ** 2))
    parameters = 2 + (11 if seasonal else 0)
    dof = max(effective - parameters, 1.0)
    sigma = float(np.sqrt(np.sum(w * residual ** 2) / np.sum(w) * effective / dof))
    season_var = sigma ** 2 * 12 / effective if seasonal else 0.0
    if params.anchor_months:
        # Start from where the series is now, not where the trend line says it should be: after a
        # level shift the line needs months to catch up, and the forecast cannot wait for it.
        coef = coef + np.array([residual[-params.anchor_months:].mean(), 0.0])
        season_var += sigma ** 2 / params.anchor_months
    return _Fit(coef, cov, sigma, dof, season, season_var, log_scale, start_month, n)


def _predict(fit: _Fit, steps: int, interval: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.arange(fit.n, fit.n + steps, dtype=float)
    month = (fit.start_month + x.astype(int)) % 12
    centre = fit.coef[0] + fit.coef[1] * x + fit.season[month]
    design = np.column_stack([np.ones_like(x), x])
    leverage = np.einsum("ij,jk,ik->i", design, fit.cov_unscaled, design)
    spread = np.sqrt(fit.sigma ** 2 * (1 + leverage) + fit.season_var)
    half = stats.t.ppf(0.5 + interval / 2, fit.dof) * spread
    back = np.exp if fit.log_scale else (lambda a: a)
    return back(centre), back(centre - half), back(centre + half)


def forecast_series(months: pd.Series, params: ForecastParams = ForecastParams()) -> pd.DataFrame:
    """Forecast `params.horizon` months after the last month of `months` (values indexed by
    month-start timestamps, one per month, no gaps): columns month, forecast, lower, upper."""
    months = months.sort_index()
    if len(months) < params.min_history:
        raise ValueError(f"need at least {params.min_history} months of history, got {len(months)}")
    fit = _fit(months.to_numpy(dtype=float), months.index[0].month - 1, params)
    centre, lower, upper = _predict(fit, params.horizon, params.interval)
    future = pd.date_range(months.index[-1] + pd.offsets.MonthBegin(1), periods=params.horizon, freq="MS")
    return pd.DataFrame({"month": future, "forecast": centre.round(2), "lower": lower.round(2),
                         "upper": upper.round(2)})


def _series_of(totals: pd.DataFrame, series_column: str | None):
    groups = totals.groupby(series_column, sort=True) if series_column else [(None, totals)]
    for key, group in groups:
        values = group.set_index("month")["value"].sort_index()
        full = pd.date_range(values.index.min(), values.index.max(), freq="MS")
        yield key, values.reindex(full).interpolate(limit_direction="both")


def forecast(frame: pd.DataFrame, time_column: str, value_column: str, series_column: str | None = None,
             params: ForecastParams = ForecastParams()) -> pd.DataFrame:
    """Monthly forecasts with intervals for every series with enough history (others are skipped):
    the series (when given), month, forecast, lower, upper and `interval` (the coverage asked for)."""
    totals = monthly_totals(frame, time_column, value_column, series_column)
    parts = []
    for key, values in _series_of(totals, series_column):
        if len(values) >= params.min_history:
            part = forecast_series(values, params)
            parts.append(part.assign(**({series_column: key} if series_column else {}), interval=params.interval))
    columns = ([series_column] if series_column else []) + ["month", "forecast", "lower", "upper", "interval"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def _backtest_series(values: np.ndarray, start_month: int, params: ForecastParams, origins: int) -> pd.DataFrame:
    n = len(values)
    rows = []
    for origin in range(max(params.min_history, n - origins), n):
        fit = _fit(values[:origin], start_month, params)
        steps = min(params.horizon, n - origin)
        centre, lower, upper = _predict(fit, steps, params.interval)
        for h in range(steps):
            target = origin + h
            naive = values[target - 12] if target >= 12 else values[origin - 1]
            rows.append({"origin": origin, "h": h + 1, "actual": values[target], "forecast": centre[h],
                         "lower": lower[h], "upper": upper[h], "baseline": naive, "baseline_seasonal": target >= 12})
    return pd.DataFrame(rows)


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    keep = actual != 0
    return round(float(np.mean(np.abs(actual[keep] - predicted[keep]) / np.abs(actual[keep])) * 100), 3) \
        if keep.any() else None


def _summary(pairs: pd.DataFrame) -> dict:
    if pairs.empty:
        return {"forecasts": 0, "mape": None, "seasonal_naive_mape": None, "coverage": None}
    actual = pairs["actual"].to_numpy()
    relative_error = (pairs["forecast"].to_numpy() - actual) / np.where(actual == 0, np.nan, actual)
    return {
        "forecasts": int(len(pairs)),
        "mape": _mape(actual, pairs["forecast"].to_numpy()),
        "seasonal_naive_mape": _mape(actual, pairs["baseline"].to_numpy()),
        "bias_pct": round(float(np.nanmean(relative_error)) * 100, 3),
        "coverage": round(float(((actual >= pairs["lower"]) & (actual <= pairs["upper"])).mean()), 4),
        "baseline_seasonal_share": round(float(pairs["baseline_seasonal"].mean()), 4),
    }


def backtest(frame: pd.DataFrame, time_column: str, value_column: str, series_column: str | None = None,
             params: ForecastParams = ForecastParams(), origins: int = 6) -> dict:
    """Rolling-origin backtest over the last `origins` months of every series: pooled and per series
    `mape` (model), `seasonal_naive_mape` (baseline, same pairs), `bias_pct`, interval `coverage`,
    the number of `forecasts` and `baseline_seasonal_share` (how many baseline forecasts had a
    year of history; the rest used the last month)."""
    totals = monthly_totals(frame, time_column, value_column, series_column)
    pooled, per_series = [], {}
    for key, values in _series_of(totals, series_column):
        if len(values) <= params.min_history:
            continue
        pairs = _backtest_series(values.to_numpy(dtype=float), values.index[0].month - 1, params, origins)
        pooled.append(pairs)
        per_series[str(key)] = _summary(pairs)
    result = _summary(pd.concat(pooled, ignore_index=True) if pooled else pd.DataFrame())
    result.update({"horizon": params.horizon, "origins": origins, "interval": params.interval,
                   "series": per_series if series_column else {}})
    return result
