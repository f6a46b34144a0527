"""ML assets: read marts through the warehouse resource, write scores to schema `ml`; each is
scored again when a mart it reads was rebuilt (declarative automation).

Model code lives in `ml_assets` (pure functions over DataFrames); these assets only fetch their
inputs through the resources, call it with the hyperparameters from their Config, write the result
to a table in `ml` and report the metrics as asset metadata.
"""

import json
from datetime import datetime, timezone

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from ml_assets.anomalies import DetectorParams, detect_with_total
from ml_assets.churn import ChurnParams, churn_readiness, no_scores, train_churn
from ml_assets.forecast import ForecastParams, backtest, forecast, forecast_readiness
from ml_assets.health import health_scores, load_health_config
from ml_assets.recommendations import (
    billing_drift,
    churn_prevention,
    consolidate_duplicate_apps,
    rank,
    reclaim_inactive_seats,
    right_size_at_renewal,
    upsell_opportunities,
)
from orchestration.dataframes import read_frame, replace_table
from orchestration.defs.step_outcomes import TRANSIENT_RETRIES, step_outcome_hooks
from orchestration.model_runs import COMPUTED, NOT_TRAINED, TRAINED, record_model_state
from orchestration.resources import ObjectStoreResource, WarehouseResource

_DEFAULT_CHURN = ChurnParams()


class ChurnConfig(Config):
    learning_rate: float = Field(default=_DEFAULT_CHURN.learning_rate, description="Gradient boosting learning rate.")
    max_iter: int = Field(default=_DEFAULT_CHURN.max_iter, description="Boosting iterations.")
    max_depth: int = Field(default=_DEFAULT_CHURN.max_depth, description="Depth of each tree.")
    folds: int = Field(default=_DEFAULT_CHURN.folds, description="Cross-validation folds for out-of-fold scores.")
    min_samples_leaf: int = Field(
        default=0, description="Fewest rows in a leaf; 0: 5% of the training rows, kept within 5..20."
    )
    l2_regularization: float = Field(default=_DEFAULT_CHURN.l2_regularization, description="L2 penalty on leaf values.")
    calibration: str = Field(
        default=_DEFAULT_CHURN.calibration,
        description="isotonic, sigmoid, or auto (isotonic from 1,000 training rows).",
    )
    min_churned_clients: int = Field(
        default=_DEFAULT_CHURN.min_churned_ids,
        ge=2,
        description="Churned clients the labelled history must hold before a model "
        "is trained; until then the scores stay empty and say why.",
    )
    min_stayed_clients: int = Field(
        default=_DEFAULT_CHURN.min_stayed_ids,
        ge=2,
        description="Clients who stayed that the labelled history must hold.",
    )


class AnomalyConfig(Config):
    sensitivity: float = Field(
        default=1.0, description="Higher flags more: a day is flagged past a robust z-score of 4 / sensitivity."
    )
    window: int = Field(default=56, description="Recent days whose residuals give the trend correction and spread.")


def record_model_run(conn, store, model: str, artefact: bytes, metadata: dict, run_id: str, reason: str) -> str:
    """Version the fitted model in the object store beside its metrics and list it in ml.model_runs."""
    version = metadata["version"]
    key = f"models/{model}/{version}.pkl"
    store.put_bytes(key, artefact)
    store.put_bytes(f"models/{model}/{version}.json", json.dumps(metadata, indent=2, default=str).encode())
    record_model_state(conn, model, run_id, TRAINED, reason, metadata["metrics"], version, key)
    return key


@asset(
    key=AssetKey(["ml", "churn_scores"]),
    deps=[AssetKey(["marts", "client_churn_features"])],
    group_name="ml",
    automation_condition=AutomationCondition.eager(),
    retry_policy=TRANSIENT_RETRIES,
    hooks=step_outcome_hooks,
    kinds={"scikitlearn", "postgres"},
    description="Churn probability per client with its top drivers; trained on earlier snapshot months and "
    "evaluated on later ones; every run's model versioned in the object store and ml.model_runs. "
    "Empty, with the reason in ml.model_runs, until the history holds enough churned clients.",
)
def churn_scores(
    context: AssetExecutionContext, config: ChurnConfig, warehouse: WarehouseResource, object_store: ObjectStoreResource
) -> MaterializeResult:
    params = ChurnParams(
        config.learning_rate,
        config.max_iter,
        config.max_depth,
        config.folds,
        min_samples_leaf=config.min_samples_leaf or None,
        l2_regularization=config.l2_regularization,
        calibration=config.calibration,
        gap_periods=3,
        min_churned_ids=config.min_churned_clients,
        min_stayed_ids=config.min_stayed_clients,
    )
    arguments = ("client_id", "churns_within_90d", "snapshot_month", params)
    with warehouse.connect() as conn:
        features = read_frame(conn, "select * from marts.client_churn_features")
        # Months whose 90 days have not passed yet are scored, not learned from.
        features["churns_within_90d"] = features["churns_within_90d"].where(features["outcome_observable"])
        readiness = churn_readiness(features, *arguments, exclude=("outcome_observable",))
        if not readiness.ready:
            scores = no_scores("client_id")
            scores["scored_at"] = pd.Series(dtype="datetime64[ns]")
            replace_table(conn, "ml.churn_scores", scores)
            record_model_state(
                conn,
                "churn",
                context.run.run_id,
                NOT_TRAINED,
                readiness.reason,
                {
                    "churned_clients": readiness.churned_ids,
                    "stayed_clients": readiness.stayed_ids,
                    "labelled_rows": readiness.labelled_rows,
                },
            )
            context.log.warning(f"churn model not trained: {readiness.reason}")
            return MaterializeResult(
                metadata={
                    "state": NOT_TRAINED,
                    "reason": readiness.reason,
                    "churned_clients": readiness.churned_ids,
                    "stayed_clients": readiness.stayed_ids,
                    "scored_clients": 0,
                }
            )
        run = train_churn(features, *arguments, exclude=("outcome_observable",))
        scores = run.scores.drop(columns=["snapshot_month"])
        scores["scored_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_table(conn, "ml.churn_scores", scores)
        artefact, metadata = run.model.artefact()
        key = record_model_run(
            conn, object_store.store(), "churn", artefact, metadata, context.run.run_id, readiness.reason
        )
    metrics = run.metrics
    context.log.info(f"churn model {metadata['version']} ({key}): {metrics}")
    return MaterializeResult(
        metadata={
            "state": TRAINED,
            "reason": readiness.reason,
            "scored_clients": len(scores),
            "roc_auc": metrics["roc_auc"],
            "pr_auc": metrics["pr_auc"],
            "brier": metrics["brier"],
            "f1": metrics["f1"],
            "evaluation": metrics["evaluation"],
            "logistic_regression_roc_auc": metrics["baselines"]["logistic_regression"]["roc_auc"],
            "majority_class_accuracy": metrics["baselines"]["majority_class"]["accuracy"],
            "model_version": metadata["version"],
            "artefact": MetadataValue.text(key),
            "metrics": MetadataValue.json(metrics),
        }
    )


@asset(
    key=AssetKey(["ml", "spend_anomalies"]),
    deps=[AssetKey(["marts", "department_daily_spend"])],
    group_name="ml",
    automation_condition=AutomationCondition.eager(),
    retry_policy=TRANSIENT_RETRIES,
    hooks=step_outcome_hooks,
    kinds={"python", "postgres"},
    description="Spikes, drops and level shifts in each department's spend and in the total (scope), one row "
    "per incident (from charge_date); the total's name the department that drove them.",
)
def spend_anomalies(
    context: AssetExecutionContext, config: AnomalyConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    params = DetectorParams(sensitivity=config.sensitivity, window=config.window)
    with warehouse.connect() as conn:
        spend = read_frame(conn, "select charge_date, department, billed_cost from marts.department_daily_spend")
        incidents = detect_with_total(spend, "charge_date", "billed_cost", "department", params)
        incidents = incidents.rename(columns={"start_time": "charge_date"})
        for column in ("charge_date", "end_time", "peak_time"):
            incidents[column] = incidents[column].astype("datetime64[ns]")
        replace_table(conn, "ml.spend_anomalies", incidents)
        days = int(pd.to_datetime(spend["charge_date"]).nunique())
        reason = (
            f"{len(incidents)} incidents in {spend['department'].nunique()} departments over {days} days of spend"
            if days
            else "no spend to judge yet"
        )
        record_model_state(conn, "spend_anomalies", context.run.run_id, COMPUTED, reason, {"incidents": len(incidents)})
    context.log.info(f"{len(incidents)} spend incidents")
    return MaterializeResult(
        metadata={
            "incidents": len(incidents),
            "by_kind": MetadataValue.json(incidents["kind"].value_counts().to_dict()),
        }
    )


# --- client health ------------------------------------------------------------------------------


class HealthScoreConfig(Config):
    weights_file: str = Field(
        default="",
        description="TOML file with the factors, their weights and bad/good "
        "points, and the bands; empty: ml_assets/health_weights.toml.",
    )


@asset(
    key=AssetKey(["ml", "client_health"]),
    group_name="ml",
    automation_condition=AutomationCondition.eager(),
    retry_policy=TRANSIENT_RETRIES,
    hooks=step_outcome_hooks,
    kinds={"python", "postgres"},
    deps=[AssetKey(["marts", "client_health_inputs"])],
    description="Health score 0-100 per active client from six weighted factors, each factor's score and "
    "its points of the score (they add up to it), and the band: healthy, watch or at risk.",
)
def client_health(
    context: AssetExecutionContext, config: HealthScoreConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    health_config = load_health_config(config.weights_file or None)
    with warehouse.connect() as conn:
        # the six inputs per active client, named as the weights file reads them (a dbt model)
        inputs = read_frame(conn, "select * from marts.client_health_inputs order by client_id")
        scores = health_scores(inputs, "client_id", health_config)
        inputs_by_column = inputs.drop(columns=["client_id"]).reset_index(drop=True)
        table = scores.join(inputs_by_column)
        table["scored_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_table(conn, "ml.client_health", table)
        unscored = int(table["health_score"].isna().sum())
        reason = (
            f"needs no training: {len(table) - unscored} active client"
            f"{'s' if len(table) - unscored != 1 else ''} scored from the factors they have data for"
            + (f", {unscored} with no factor data yet" if unscored else "")
        )
        record_model_state(
            conn, "client_health", context.run.run_id, COMPUTED, reason, {"clients": len(table), "unscored": unscored}
        )
    bands = table["health_band"].value_counts().to_dict()
    context.log.info(f"health of {len(table)} clients: {bands}")
    return MaterializeResult(
        metadata={
            "state": COMPUTED,
            "reason": reason,
            "clients": len(table),
            "mean_score": round(float(table["health_score"].mean()), 1) if len(table) else None,
            "by_band": MetadataValue.json(bands),
            "weights": MetadataValue.json(
                {
                    f.name: {"column": f.column, "weight": f.weight, "bad": f.bad, "good": f.good}
                    for f in health_config.factors
                }
            ),
            "bands": MetadataValue.json({"healthy": health_config.healthy, "watch": health_config.watch}),
        }
    )


# --- spend forecast -----------------------------------------------------------------------------


class ForecastConfig(Config):
    horizon: int = Field(default=6, ge=1, le=12, description="Months forecast after the last full month.")
    interval: float = Field(default=0.9, gt=0, lt=1, description="Coverage of the prediction interval.")
    trend_halflife: float = Field(
        default=12.0, gt=0, description="Months after which a month's weight in the trend fit halves."
    )
    calibration: str = Field(
        default="conformal",
        description="Interval from past forecast errors per horizon (conformal) or the regression interval (model).",
    )
    min_calibration: int = Field(
        default=10, ge=1, description="Past errors a horizon needs before its own quantiles set its interval."
    )
    backtest_origins: int = Field(default=6, ge=1, description="Latest months the backtest forecasts from.")


@asset(
    key=AssetKey(["ml", "spend_forecast"]),
    deps=[AssetKey(["marts", "department_daily_spend"])],
    group_name="ml",
    automation_condition=AutomationCondition.eager(),
    retry_policy=TRANSIENT_RETRIES,
    hooks=step_outcome_hooks,
    kinds={"python", "postgres"},
    description="Monthly spend per department for the months ahead with a prediction interval; backtest "
    "MAPE against a seasonal-naive forecast as metadata.",
)
def spend_forecast(
    context: AssetExecutionContext, config: ForecastConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    params = ForecastParams(
        horizon=config.horizon,
        interval=config.interval,
        trend_halflife=config.trend_halflife,
        calibration=config.calibration,
        min_calibration=config.min_calibration,
    )
    with warehouse.connect() as conn:
        spend = read_frame(conn, "select charge_date, department, billed_cost from marts.department_daily_spend")
        readiness = forecast_readiness(spend, "charge_date", "billed_cost", "department", params, noun="department")
        predicted = forecast(spend, "charge_date", "billed_cost", "department", params)
        quality = backtest(spend, "charge_date", "billed_cost", "department", params, origins=config.backtest_origins)
        predicted.insert(2, "months_ahead", _months_ahead(predicted))
        predicted["month"] = predicted["month"].astype("datetime64[ns]")
        predicted["forecast_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_table(conn, "ml.spend_forecast", predicted)
        state = TRAINED if readiness.ready else NOT_TRAINED
        record_model_state(
            conn,
            "spend_forecast",
            context.run.run_id,
            state,
            readiness.reason,
            {"months_by_department": readiness.months_by_series, "backtest": quality},
        )
    log = context.log.info if readiness.ready else context.log.warning
    log(f"spend forecast {state}: {readiness.reason}; backtest {quality}")
    return MaterializeResult(
        metadata={
            "state": state,
            "reason": readiness.reason,
            "departments": int(predicted["department"].nunique()),
            "horizon_months": config.horizon,
            "interval": config.interval,
            "backtest_mape": quality["mape"],
            "backtest_seasonal_naive_mape": quality["seasonal_naive_mape"],
            "backtest_interval_coverage": quality["coverage"],
            "backtest_forecasts": quality["forecasts"],
            "backtest_interval_coverage_by_horizon": MetadataValue.json(quality.get("coverage_by_horizon", {})),
            "backtest": MetadataValue.json(quality),
        }
    )


def _months_ahead(predicted: pd.DataFrame) -> pd.Series:
    """1 for each department's first forecast month, 2 for the next ..."""
    if predicted.empty:
        return pd.Series(dtype="int64")
    first_month = predicted.groupby("department")["month"].transform("min")
    return (
        (predicted["month"].dt.year - first_month.dt.year) * 12 + predicted["month"].dt.month - first_month.dt.month + 1
    ).astype(int)


# --- recommendations ----------------------------------------------------------------------------

SUBSCRIPTIONS_SQL = """
select subscription_id, application_name, seats_purchased, price_per_seat_month::float as monthly_price, renewal_date
from marts.subscription_utilisation
"""
AGREEMENT_SERVICES_SQL = """
select client_id, agreement_type as service, monthly_amount::float as monthly_amount
from marts.agreements where is_active
"""
ACTIVE_CLIENTS_SQL = "select client_id, segment, employee_count, current_mrr from marts.clients where is_active"
# Tickets raised in the last `days` before the latest ticket: a category named like a service the
# client lacks ("Backup", "Security") is demand for it.
RECENT_TICKETS_SQL = """
select client_id, category from staging.stg_psa__tickets
where created_at > (select max(created_at) from staging.stg_psa__tickets) - make_interval(days => %s)
"""
CHURN_AT_RISK_SQL = """
select scores.client_id, scores.churn_probability, scores.drivers, clients.current_mrr::float as mrr
from ml.churn_scores as scores
inner join marts.clients as clients on scores.client_id = clients.client_id
where clients.is_active
"""
BILLING_SQL = """
select client_id, agreement_id, billed_units, supported_units, unit_price::float as unit_price,
       'endpoints' as service
from marts.billing_reconciliation where supported_units is not null
"""


class RecommendationsConfig(Config):
    inactive_days: int = Field(default=30, ge=1, description="A seat unused this many days is reclaimable.")
    recent_assignment_days: int = Field(
        default=30, ge=0, description="Seats assigned more recently than this are not judged (a new joiner needs time)."
    )
    renewal_buffer: float = Field(default=0.10, ge=0, description="Seats kept above the active ones at renewal.")
    renewal_window_days: int = Field(
        default=120, ge=1, description="Subscriptions renewing within this many days are right-sized."
    )
    min_peer_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of similar clients (same segment) that must buy a service to offer it.",
    )
    # Everyday tickets already touch every category now and then (a security question, a restore),
    # so demand means a run of them, not one or two.
    min_demand_tickets: int = Field(
        default=8, ge=1, description="Recent tickets about a service the client lacks that count as demand for it."
    )
    demand_days: int = Field(default=180, ge=1, description="How far back tickets count as demand.")
    min_churn_probability: float = Field(
        default=0.2, ge=0, le=1, description="Clients at or above this churn probability get a retention action."
    )
    min_billing_units: int = Field(
        default=1, ge=1, description="Smallest gap between billed and supported units worth correcting."
    )
    min_billing_share: float = Field(
        default=0.05,
        ge=0,
        description="Smallest gap as a share of the billed units (smaller ones are devices coming and going).",
    )


def _kind_summary(ranked) -> dict:
    grouped = ranked.groupby("kind")["monthly_impact"].agg(["count", "sum"])
    return {
        kind: {"count": int(row["count"]), "monthly_impact": round(float(row["sum"]), 2)}
        for kind, row in grouped.iterrows()
    }


@asset(
    key=AssetKey(["ml", "recommendations"]),
    group_name="ml",
    automation_condition=AutomationCondition.eager(),
    retry_policy=TRANSIENT_RETRIES,
    hooks=step_outcome_hooks,
    kinds={"python", "postgres"},
    deps=[
        AssetKey(["ml", "churn_scores"]),
        AssetKey(["marts", "clients"]),
        AssetKey(["marts", "agreements"]),
        AssetKey(["marts", "billing_reconciliation"]),
        AssetKey(["marts", "subscription_utilisation"]),
        AssetKey(["marts", "applications"]),
        AssetKey(["marts", "held_seats"]),
        AssetKey(["staging", "stg_psa__tickets"]),
    ],
    description="Every recommendation with its money impact per month and a plain-language reason, ranked: "
    "reclaim idle seats, right-size at renewal, consolidate duplicate apps, upsell, churn "
    "prevention, billing drift.",
)
def recommendations(
    context: AssetExecutionContext, config: RecommendationsConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    with warehouse.connect() as conn:
        seats = read_frame(conn, "select * from marts.held_seats")
        subscriptions = read_frame(conn, SUBSCRIPTIONS_SQL)
        applications = read_frame(conn, "select application_id, application_name, category from marts.applications")
        services = read_frame(conn, AGREEMENT_SERVICES_SQL)
        clients = read_frame(conn, ACTIVE_CLIENTS_SQL)
        tickets = read_frame(conn, RECENT_TICKETS_SQL, (config.demand_days,))
        at_risk = read_frame(conn, CHURN_AT_RISK_SQL)
        billing = read_frame(conn, BILLING_SQL)
        seats_as_of = seats["usage_as_of_date"].max() if len(seats) else datetime.now(timezone.utc).date()
        ranked = rank(
            reclaim_inactive_seats(seats, seats_as_of, config.inactive_days, config.recent_assignment_days),
            right_size_at_renewal(
                subscriptions,
                seats,
                seats_as_of,
                config.renewal_buffer,
                config.renewal_window_days,
                config.inactive_days,
            ),
            consolidate_duplicate_apps(seats, applications),
            upsell_opportunities(
                services,
                clients,
                tickets,
                peer_columns=("segment",),
                size_column="employee_count",
                min_peer_share=config.min_peer_share,
                min_demand_tickets=config.min_demand_tickets,
            ),
            churn_prevention(at_risk, config.min_churn_probability),
            billing_drift(billing, config.min_billing_units, config.min_billing_share),
        )
        ranked["audience"] = ranked["client_id"].map(lambda c: "it" if c is None or c != c else "msp")
        ranked["recommended_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_table(conn, "ml.recommendations", ranked)
        reason = f"needs no training: {len(ranked)} recommendations from rules over the marts"
        if at_risk.empty:
            reason += "; churn prevention waits for churn scores"
        record_model_state(
            conn, "recommendations", context.run.run_id, COMPUTED, reason, {"recommendations": len(ranked)}
        )
    by_kind = _kind_summary(ranked)
    context.log.info(f"{len(ranked)} recommendations: {by_kind}")
    return MaterializeResult(
        metadata={
            "state": COMPUTED,
            "reason": reason,
            "recommendations": len(ranked),
            "monthly_impact": round(float(ranked["monthly_impact"].sum()), 2),
            "by_kind": MetadataValue.json(by_kind),
            "top_5": MetadataValue.md("\n".join(f"{r.rank}. {r.reason}" for r in ranked.head(5).itertuples())),
        }
    )


ml_assets = [churn_scores, spend_anomalies, client_health, spend_forecast, recommendations]
