"""ML assets: read marts through the warehouse resource, write scores to schema `ml`."""

import json

from datetime import datetime, timezone

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from ml_assets.anomalies import DetectorParams, detect
from ml_assets.churn import ChurnParams, train_churn
from orchestration.resources import ObjectStoreResource, WarehouseResource
from orchestration.warehouse import read_frame, replace_table


class ChurnConfig(Config):
    learning_rate: float = Field(default=0.1, description="Gradient boosting learning rate.")
    max_iter: int = Field(default=200, description="Boosting iterations.")
    max_depth: int = Field(default=3, description="Depth of each tree.")
    folds: int = Field(default=5, description="Cross-validation folds for out-of-fold scores.")


class AnomalyConfig(Config):
    sensitivity: float = Field(default=1.0, description="Higher flags more: a day is flagged past a robust "
                                                        "z-score of 4 / sensitivity.")
    window: int = Field(default=56, description="Recent days whose residuals give the trend correction and spread.")


def record_model_run(conn, store, model: str, artefact: bytes, metadata: dict, run_id: str) -> str:
    """Version the fitted model in the object store beside its metrics and list it in ml.model_runs."""
    version = metadata["version"]
    key = f"models/{model}/{version}.pkl"
    store.put_bytes(key, artefact)
    store.put_bytes(f"models/{model}/{version}.json", json.dumps(metadata, indent=2, default=str).encode())
    conn.execute("create schema if not exists ml")
    conn.execute("""
        create table if not exists ml.model_runs (
            dagster_run_id text, model text not null, version text not null, trained_at timestamptz not null,
            artefact_key text not null, roc_auc double precision, pr_auc double precision,
            brier double precision, metrics jsonb not null
        )""")
    metrics = metadata["metrics"]
    conn.execute("insert into ml.model_runs values (%s, %s, %s, now(), %s, %s, %s, %s, %s)",
                 (run_id, model, version, key, metrics.get("roc_auc"), metrics.get("pr_auc"), metrics.get("brier"),
                  json.dumps(metrics, default=str)))
    conn.commit()
    return key


@asset(key=AssetKey(["ml", "churn_scores"]), deps=[AssetKey(["marts", "client_churn_features"])], group_name="ml",
       kinds={"scikitlearn", "postgres"},
       description="Churn probability per client with its top drivers; trained on earlier snapshot months and "
                   "evaluated on later ones; every run's model versioned in the object store and ml.model_runs.")
def churn_scores(context: AssetExecutionContext, config: ChurnConfig, warehouse: WarehouseResource,
                 object_store: ObjectStoreResource) -> MaterializeResult:
    params = ChurnParams(config.learning_rate, config.max_iter, config.max_depth, config.folds, gap_periods=3)
    with warehouse.connect() as conn:
        features = read_frame(conn, "select * from marts.client_churn_features")
        # Months whose 90 days have not passed yet are scored, not learned from.
        features["churns_within_90d"] = features["churns_within_90d"].where(features["outcome_observable"])
        run = train_churn(features, "client_id", "churns_within_90d", "snapshot_month", params,
                          exclude=("outcome_observable",))
        scores = run.scores.drop(columns=["snapshot_month"])
        scores["scored_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_table(conn, "ml.churn_scores", scores)
        artefact, metadata = run.model.artefact()
        key = record_model_run(conn, object_store.store(), "churn", artefact, metadata, context.run_id)
    metrics = run.metrics
    context.log.info(f"churn model {metadata['version']} ({key}): {metrics}")
    return MaterializeResult(metadata={
        "roc_auc": metrics["roc_auc"], "pr_auc": metrics["pr_auc"], "brier": metrics["brier"],
        "f1": metrics["f1"], "evaluation": metrics["evaluation"],
        "logistic_regression_roc_auc": metrics["baselines"]["logistic_regression"]["roc_auc"],
        "majority_class_accuracy": metrics["baselines"]["majority_class"]["accuracy"],
        "model_version": metadata["version"], "artefact": MetadataValue.text(key),
        "metrics": MetadataValue.json(metrics)})


@asset(key=AssetKey(["ml", "spend_anomalies"]), deps=[AssetKey(["marts", "department_daily_spend"])], group_name="ml",
       kinds={"python", "postgres"},
       description="Spikes, drops and level shifts in departmental spend, one row per incident (from charge_date).")
def spend_anomalies(context: AssetExecutionContext, config: AnomalyConfig,
                    warehouse: WarehouseResource) -> MaterializeResult:
    params = DetectorParams(sensitivity=config.sensitivity, window=config.window)
    with warehouse.connect() as conn:
        spend = read_frame(conn, "select charge_date, department, billed_cost from marts.department_daily_spend")
        incidents = detect(spend, "charge_date", "billed_cost", "department", params)
        incidents = incidents.rename(columns={"start_time": "charge_date"})
        for column in ("charge_date", "end_time", "peak_time"):
            incidents[column] = incidents[column].astype("datetime64[ns]")
        replace_table(conn, "ml.spend_anomalies", incidents)
    context.log.info(f"{len(incidents)} spend incidents")
    return MaterializeResult(metadata={"incidents": len(incidents),
                                       "by_kind": MetadataValue.json(incidents["kind"].value_counts().to_dict())})


ml_assets = [churn_scores, spend_anomalies]
