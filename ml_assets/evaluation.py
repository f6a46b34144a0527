"""Every model evaluation in one run, on tables the pipeline built and the demo's ground truth.

Pure: takes DataFrames, returns one flat dict of headline figures plus the full details.
"""

from __future__ import annotations

import pandas as pd

from ml_assets.anomalies import DetectorParams, detect
from ml_assets.anomaly_eval import evaluate_alerts, rolling_zscore
from ml_assets.churn import ChurnParams, evaluate_churn
from ml_assets.forecast import ForecastParams, backtest

CHURN_EXCLUDE = ("outcome_observable",)  # known only afterwards: it would hand the model its label


def evaluate_churn_panel(features: pd.DataFrame) -> dict:
    """Train on earlier snapshot months, test on later ones (a 3-month gap: the label looks 90 days ahead)."""
    labelled = features.assign(churns_within_90d=features["churns_within_90d"].where(features["outcome_observable"]))
    return evaluate_churn(
        labelled, "client_id", "churns_within_90d", "snapshot_month", ChurnParams(gap_periods=3), exclude=CHURN_EXCLUDE
    )


def evaluate_spend_anomalies(spend: pd.DataFrame, planted: list[dict]) -> dict:
    """The detector and a rolling z-score (window 30, |z| > 3) against the planted incidents."""
    incidents = pd.DataFrame(planted)[["department", "date", "kind"]]
    incidents = pd.DataFrame(
        {"series": incidents["department"], "time": pd.to_datetime(incidents["date"]), "kind": incidents["kind"]}
    )
    spend = spend.assign(charge_date=pd.to_datetime(spend["charge_date"]))
    days = (spend["charge_date"].max() - spend["charge_date"].min()).days + 1
    series_months = spend["department"].nunique() * days / 30.44
    detected = detect(spend, "charge_date", "billed_cost", "department", DetectorParams())
    baseline = rolling_zscore(spend, "charge_date", "billed_cost", "department", window=30, threshold=3.0)
    return {
        "detector": evaluate_alerts(detected.rename(columns={"department": "series"}), incidents, series_months),
        "rolling_zscore": evaluate_alerts(baseline.rename(columns={"department": "series"}), incidents, series_months),
        "planted": len(incidents),
    }


def evaluate_forecast(spend: pd.DataFrame, horizon: int = 3) -> dict:
    """Rolling-origin backtest from the last 6 months, up to `horizon` months ahead; each origin's
    interval is calibrated on the errors of months before it only."""
    return backtest(spend, "charge_date", "billed_cost", "department", ForecastParams(horizon=horizon), origins=6)


def evaluate_all(churn_features: pd.DataFrame, spend: pd.DataFrame, truth: dict) -> dict:
    churn = evaluate_churn_panel(churn_features)
    anomalies = evaluate_spend_anomalies(spend, truth["spend_anomalies"])
    forecast = evaluate_forecast(spend)
    forecast_6m = evaluate_forecast(spend, horizon=6)  # the asset forecasts 6 months ahead
    baselines = churn["baselines"]
    headline = {
        "churn_roc_auc": churn["roc_auc"],
        "churn_pr_auc": churn["pr_auc"],
        "churn_brier": churn["brier"],
        "churn_f1": churn["f1"],
        "churn_top_decile_precision": churn.get("top_decile_precision"),
        "churn_logreg_roc_auc": baselines["logistic_regression"]["roc_auc"],
        "churn_majority_accuracy": baselines["majority_class"]["accuracy"],
        "anomaly_f1": anomalies["detector"]["f1"],
        "anomaly_zscore_f1": anomalies["rolling_zscore"]["f1"],
        "anomaly_false_alerts_per_series_month": anomalies["detector"].get("false_alerts_per_series_month"),
        "forecast_mape": forecast["mape"],
        "forecast_seasonal_naive_mape": forecast["seasonal_naive_mape"],
        "forecast_interval_coverage": forecast["coverage"],
        "forecast_bias_pct": forecast.get("bias_pct"),
        "forecast_mape_6m": forecast_6m["mape"],
        "forecast_seasonal_naive_mape_6m": forecast_6m["seasonal_naive_mape"],
        "forecast_interval_coverage_6m": forecast_6m["coverage"],
        "forecast_interval_coverage_by_horizon": forecast_6m.get("coverage_by_horizon"),
    }
    # Planted level shifts are steps no model sees coming: the report says which fall in the backtest.
    shifts = sorted(
        (
            {"date": a["date"], "department": a["department"], "factor": a["factor"]}
            for a in truth["spend_anomalies"]
            if a["kind"] == "level_shift"
        ),
        key=lambda a: a["date"],
    )
    return {
        "headline": headline,
        "churn": churn,
        "anomalies": anomalies,
        "forecast": forecast,
        "forecast_6m": forecast_6m,
        "planted_level_shifts": shifts,
    }
