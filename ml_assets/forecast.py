"""Monthly spend forecast per series (department, application ...) with a prediction interval.

Model. Monthly totals are divided by the days in their month (February is not a fall in spend)
and taken on the log scale when every month is positive (growth and seasonality then act as
percentages). A linear trend is fitted by weighted least squares with weights halving every
`trend_halflife` months, so a recent level shift or change of pace takes over from old history.
When the history holds `min_seasonal_cycles` full years, month-of-year effects (weighted means of
the detrended values, centred on zero) are estimated and the trend is refitted on the
deseasonalised values. The line is moved to pass through the latest `anchor_months` (an intercept
correction), so the forecast starts from the level the series is at now, even just after a level
shift. The forecast is trend plus season, times the days of the month forecast.

Interval. Split-conformal, as mature forecasting tools calibrate theirs: the model is refitted
from every earlier month of the history (rolling origin) and its errors on the months that
followed are collected per horizon, pooled over the series forecast together (as log ratios, so a
large and a small department share one scale). The interval at h months ahead is the forecast
moved by that horizon's empirical error quantiles, with the finite-sample correction, so it covers
the past forecasts as often as asked by construction; it never narrows with the horizon. A horizon
with fewer than `min_calibration` past errors borrows the longest horizon that has them, widened
by sqrt(h / that horizon); with none at all the regression prediction interval is used
(sigma * sqrt(1 + x'(X'WX)^-1 x), Student's t on the effective sample size).

Backtest. From each of the last `origins` months, the model is fitted on the months before it and
forecasts up to `horizon` months ahead, its interval calibrated only on errors whose months were
already observed at that origin; the seasonal-naive baseline forecasts each month with the same
month a year earlier (the last observed month while the history is under a year). MAPE, bias and
interval coverage (pooled and per horizon) are reported on the same origin/horizon pairs for both.
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
    per_day: bool = True  # model spend per day of the month, so month length is not mistaken for change
    calibration: str = "conformal"  # "conformal" (past forecast errors) or "model" (regression interval)
    min_calibration: int = 10  # past errors a horizon needs before its own quantiles are used


def monthly_totals(
    frame: pd.DataFrame, time_column: str, value_column: str, series_column: str | None = None
) -> pd.DataFrame:
    """Sum a series of any frequency per calendar month (column `month`, first day of the month,
    and `value`). For data finer than monthly, a first or last month that the data does not cover
    to its first and last day is dropped: half a month is not a month of spend."""
    times = pd.to_datetime(frame[time_column])
    data = pd.DataFrame(
        {
            "month": times.dt.to_period("M").dt.to_timestamp(),
            "day": times.dt.normalize(),
            "value": pd.to_numeric(frame[value_column], errors="coerce"),
        }
    )
    if series_column:
        data[series_column] = frame[series_column].to_numpy()
    keys = ([series_column] if series_column else []) + ["month"]
    totals = data.groupby(keys, as_index=False).agg(value=("value", "sum"), first=("day", "min"), last=("day", "max"))
    step = infer_step(times)
    if not isinstance(step, str) and step <= pd.Timedelta(days=1):
        covered = (totals["first"] == totals["month"]) & (totals["last"] == totals["month"] + pd.offsets.MonthEnd(0))
        if series_column:
            months = totals.groupby(series_column)["month"]
            first, last = months.transform("min"), months.transform("max")
        else:
            first, last = totals["month"].min(), totals["month"].max()
        edge = (totals["month"] == first) | (totals["month"] == last)
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
    return coef, inverse @ (design.T @ (design * (w**2)[:, None])) @ inverse, z - design @ coef


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
    effective = float(np.sum(w) ** 2 / np.sum(w**2))
    parameters = 2 + (11 if seasonal else 0)
    dof = max(effective - parameters, 1.0)
    sigma = float(np.sqrt(np.sum(w * residual**2) / np.sum(w) * effective / dof))
    season_var = sigma**2 * 12 / effective if seasonal else 0.0
    if params.anchor_months:
        # Start from where the series is now, not where the trend line says it should be: after a
        # level shift the line needs months to catch up, and the forecast cannot wait for it.
        coef = coef + np.array([residual[-params.anchor_months :].mean(), 0.0])
        season_var += sigma**2 / params.anchor_months
    return _Fit(coef, cov, sigma, dof, season, season_var, log_scale, start_month, n)


def _predict(fit: _Fit, steps: int, interval: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.arange(fit.n, fit.n + steps, dtype=float)
    month = (fit.start_month + x.astype(int)) % 12
    centre = fit.coef[0] + fit.coef[1] * x + fit.season[month]
    design = np.column_stack([np.ones_like(x), x])
    leverage = np.einsum("ij,jk,ik->i", design, fit.cov_unscaled, design)
    spread = np.sqrt(fit.sigma**2 * (1 + leverage) + fit.season_var)
    half = stats.t.ppf(0.5 + interval / 2, fit.dof) * spread
    back = np.exp if fit.log_scale else (lambda a: a)
    return back(centre), back(centre - half), back(centre + half)


def _model_forecast(values: pd.Series, steps: int, params: ForecastParams) -> pd.DataFrame:
    """The model's forecast `steps` months after `values` (monthly totals indexed by month start)
    with its regression interval, in monthly totals."""
    months = pd.DatetimeIndex(values.index)
    fit = _fit(
        values.to_numpy(dtype=float) / (months.days_in_month.to_numpy() if params.per_day else 1),
        months[0].month - 1,
        params,
    )
    centre, lower, upper = _predict(fit, steps, params.interval)
    future = pd.date_range(months[-1] + pd.offsets.MonthBegin(1), periods=steps, freq="MS")
    days = future.days_in_month.to_numpy() if params.per_day else 1
    return pd.DataFrame({"month": future, "forecast": centre * days, "lower": lower * days, "upper": upper * days})


def _rolling_forecasts(values: pd.Series, params: ForecastParams) -> pd.DataFrame:
    """The model refitted from every origin the history allows, each forecast beside what happened:
    origin (first month forecast), month, h, actual, forecast, the model's lower/upper, the
    seasonal-naive baseline and its error score for calibration."""
    n, index = len(values), values.index
    parts = []
    for origin in range(params.min_history, n):
        steps = min(params.horizon, n - origin)
        part = _model_forecast(values.iloc[:origin], steps, params)
        targets = origin + np.arange(steps)
        seasonal = targets >= 12
        part = part.assign(
            origin=index[origin],
            h=np.arange(1, steps + 1),
            actual=values.to_numpy()[targets],
            baseline=np.where(seasonal, values.to_numpy()[np.maximum(targets - 12, 0)], values.iloc[origin - 1]),
            baseline_seasonal=seasonal,
        )
        parts.append(part)
    if not parts:
        return pd.DataFrame(
            columns=[
                "month",
                "forecast",
                "lower",
                "upper",
                "origin",
                "h",
                "actual",
                "baseline",
                "baseline_seasonal",
                "error",
            ]
        )
    pairs = pd.concat(parts, ignore_index=True)
    return pairs.assign(error=_log_ratio(pairs["actual"].to_numpy(), pairs["forecast"].to_numpy()))


def _log_ratio(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """log(actual / predicted), NaN where either is not positive (no scale-free error to pool)."""
    positive = (actual > 0) & (predicted > 0)
    return np.where(positive, np.log(np.where(positive, actual, 1.0) / np.where(positive, predicted, 1.0)), np.nan)


def _error_quantiles(errors: pd.DataFrame, horizon: int, params: ForecastParams) -> np.ndarray | None:
    """Lower and upper conformal quantiles of past log errors for h = 1..horizon (shape horizon x 2),
    or None when even one month ahead has too few past errors to calibrate on."""
    tail = (1 - params.interval) / 2
    bounds = np.full((horizon, 2), np.nan)
    borrowed_from = 0
    for h in range(1, horizon + 1):
        error = np.sort(errors.loc[errors["h"] == h, "error"].dropna().to_numpy())
        n = len(error)
        if n >= params.min_calibration:
            # Finite-sample (split-conformal) ranks: the k-th smallest of n past errors is exceeded
            # by a new error with probability at most 1 - k / (n + 1). Below 2 / (1 - interval) - 1
            # errors (19 at 90%) no rank is far enough out and the extremes stand in.
            low = max(int(np.floor((n + 1) * tail)), 1)
            high = min(int(np.ceil((n + 1) * (1 - tail))), n)
            bounds[h - 1] = error[low - 1], error[high - 1]
            borrowed_from = h
        elif borrowed_from:
            # Too few errors this far ahead yet: errors of a random walk grow with sqrt(h).
            bounds[h - 1] = bounds[borrowed_from - 1] * np.sqrt(h / borrowed_from)
        else:
            return None
    # The point forecast stays inside its interval, and looking further ahead is never surer.
    bounds[:, 0] = np.minimum.accumulate(np.minimum(bounds[:, 0], 0.0))
    bounds[:, 1] = np.maximum.accumulate(np.maximum(bounds[:, 1], 0.0))
    return bounds


def _calibrated(predicted: pd.DataFrame, errors: pd.DataFrame, params: ForecastParams) -> pd.DataFrame:
    """`predicted` (columns h, forecast, lower, upper) with the interval replaced by the conformal
    one from `errors` where there are enough of them and the forecast is positive."""
    if params.calibration != "conformal" or predicted.empty:
        return predicted
    bounds = _error_quantiles(errors, int(predicted["h"].max()), params)
    if bounds is None:
        return predicted
    steps = predicted["h"].to_numpy() - 1
    point = predicted["forecast"].to_numpy()
    positive = point > 0
    return predicted.assign(
        lower=np.where(positive, point * np.exp(bounds[steps, 0]), predicted["lower"]),
        upper=np.where(positive, point * np.exp(bounds[steps, 1]), predicted["upper"]),
    )


def _final(values: pd.Series, errors: pd.DataFrame, params: ForecastParams) -> pd.DataFrame:
    predicted = _model_forecast(values, params.horizon, params)
    predicted = _calibrated(predicted.assign(h=np.arange(1, params.horizon + 1)), errors, params)
    return pd.DataFrame(
        {
            "month": predicted["month"],
            "forecast": predicted["forecast"].round(2),
            "lower": predicted["lower"].round(2),
            "upper": predicted["upper"].round(2),
        }
    )


def forecast_series(months: pd.Series, params: ForecastParams = ForecastParams()) -> pd.DataFrame:
    """Forecast `params.horizon` months after the last month of `months` (values indexed by
    month-start timestamps, one per month, no gaps): columns month, forecast, lower, upper. The
    interval is calibrated on this series' own past forecast errors."""
    months = months.sort_index()
    if len(months) < params.min_history:
        raise ValueError(f"need at least {params.min_history} months of history, got {len(months)}")
    return _final(months, _rolling_forecasts(months, params), params)


def _series_of(totals: pd.DataFrame, series_column: str | None):
    groups = totals.groupby(series_column, sort=True) if series_column else [(None, totals)]
    for key, group in groups:
        values = group.set_index("month")["value"].sort_index()
        full = pd.date_range(values.index.min(), values.index.max(), freq="MS")
        yield key, values.reindex(full).interpolate(limit_direction="both")


def forecast(
    frame: pd.DataFrame,
    time_column: str,
    value_column: str,
    series_column: str | None = None,
    params: ForecastParams = ForecastParams(),
) -> pd.DataFrame:
    """Monthly forecasts with intervals for every series with enough history (others are skipped):
    the series (when given), month, forecast, lower, upper and `interval` (the coverage asked for).
    The intervals are calibrated on the past forecast errors of all the series together."""
    totals = monthly_totals(frame, time_column, value_column, series_column)
    series = [(key, values) for key, values in _series_of(totals, series_column) if len(values) >= params.min_history]
    errors = (
        pd.concat([_rolling_forecasts(values, params) for _, values in series], ignore_index=True)
        if series
        else pd.DataFrame(columns=["h", "error"])
    )
    parts = [
        _final(values, errors, params).assign(
            **({series_column: key} if series_column else {}), interval=params.interval
        )
        for key, values in series
    ]
    columns = ([series_column] if series_column else []) + ["month", "forecast", "lower", "upper", "interval"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else _no_forecast(series_column)


def _no_forecast(series_column: str | None) -> pd.DataFrame:
    """`forecast`'s columns, typed, without rows (a table written from it keeps its column types)."""
    typed = {"month": "datetime64[ns]", "forecast": float, "lower": float, "upper": float, "interval": float}
    columns = {
        **({series_column: pd.Series(dtype=object)} if series_column else {}),
        **{name: pd.Series(dtype=dtype) for name, dtype in typed.items()},
    }
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class ForecastReadiness:
    """Which series have the history to be forecast, and a sentence saying what the forecast is."""

    ready: bool  # at least one series can be forecast
    reason: str
    months_by_series: dict


def forecast_readiness(
    frame: pd.DataFrame,
    time_column: str,
    value_column: str,
    series_column: str | None = None,
    params: ForecastParams = ForecastParams(),
    noun: str = "series",
) -> ForecastReadiness:
    """Decide from the data alone what `forecast` can do: a series needs `min_history` whole months
    to be forecast at all and `min_seasonal_cycles` years for month-of-year effects. `noun` names a
    series in the reason ("department")."""
    totals = monthly_totals(frame, time_column, value_column, series_column)
    months = {str(key): len(values) for key, values in _series_of(totals, series_column)} if len(totals) else {}
    ready = {key: n for key, n in months.items() if n >= params.min_history}
    seasonal_months = 12 * params.min_seasonal_cycles
    if not months:
        reason = "no spend to forecast yet: not one whole month of data"
    elif not ready:
        longest = max(months.values())
        reason = (
            f"not enough history yet: {longest} whole month{'s' if longest != 1 else ''}, need {params.min_history}"
        )
    else:
        short = sorted(set(months) - set(ready))
        reason = f"forecast for {len(ready)} of {len(months)} {noun}s"
        if short:
            reason += f" ({', '.join(short)}: under {params.min_history} whole months)"
        longest = max(ready.values())
        reason += (
            "; with month-of-year effects"
            if longest >= seasonal_months
            else f"; trend only: month-of-year effects need {seasonal_months} whole months, have {longest}"
        )
    return ForecastReadiness(bool(ready), reason, months)


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    keep = actual != 0
    return (
        round(float(np.mean(np.abs(actual[keep] - predicted[keep]) / np.abs(actual[keep])) * 100), 3)
        if keep.any()
        else None
    )


def _coverage(pairs: pd.DataFrame) -> float:
    return round(float(((pairs["actual"] >= pairs["lower"]) & (pairs["actual"] <= pairs["upper"])).mean()), 4)


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
        "coverage": _coverage(pairs),
        "coverage_by_horizon": {str(h): _coverage(part) for h, part in pairs.groupby("h")},
        "baseline_seasonal_share": round(float(pairs["baseline_seasonal"].mean()), 4),
    }


def backtest(
    frame: pd.DataFrame,
    time_column: str,
    value_column: str,
    series_column: str | None = None,
    params: ForecastParams = ForecastParams(),
    origins: int = 6,
) -> dict:
    """Rolling-origin backtest over the last `origins` months of every series: pooled and per series
    `mape` (model), `seasonal_naive_mape` (baseline, same pairs), `bias_pct`, interval `coverage`
    (also `coverage_by_horizon`), the number of `forecasts` and `baseline_seasonal_share` (how many
    baseline forecasts had a year of history; the rest used the last month). Each origin's interval
    is calibrated only on errors of months observed before that origin."""
    totals = monthly_totals(frame, time_column, value_column, series_column)
    rolling = {}
    for key, values in _series_of(totals, series_column):
        if len(values) > params.min_history:
            first_tested = values.index[max(len(values) - origins, 0)]
            pairs = _rolling_forecasts(values, params)
            rolling[str(key)] = pairs.assign(series=str(key), tested=pairs["origin"] >= first_tested)
    everything = pd.concat(rolling.values(), ignore_index=True) if rolling else pd.DataFrame()
    tested = []
    if not everything.empty:
        for origin, pairs in everything[everything["tested"]].groupby("origin"):
            tested.append(_calibrated(pairs, everything[everything["month"] < origin], params))
    tested = pd.concat(tested, ignore_index=True) if tested else pd.DataFrame()
    result = _summary(tested)
    result.update(
        {
            "horizon": params.horizon,
            "origins": origins,
            "interval": params.interval,
            "first_origin": str(tested["origin"].min().date()) if not tested.empty else None,
            "series": {key: _summary(tested[tested["series"] == key]) for key in rolling} if series_column else {},
        }
    )
    return result
