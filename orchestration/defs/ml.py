"""ML assets: read marts through the warehouse resource, write scores to schema `ml`."""

from datetime import datetime, timezone

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from ml_assets.anomalies import DetectorParams, detect
from ml_assets.churn import ChurnParams, score_churn
from orchestration.resources import WarehouseResource
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


def latest_snapshot_per_client(features):
    """One row per client (its latest monthly snapshot) for the one-row-per-id churn scorer.

    The snapshot month and the observability flag are dropped: a client whose outcome is already
    known is one that left, so either column would hand the model its label."""
    latest = features.sort_values("snapshot_month").groupby("client_id", sort=False).tail(1)
    return latest.drop(columns=["snapshot_month", "outcome_observable"]).reset_index(drop=True)


@asset(key=AssetKey(["ml", "churn_scores"]), deps=[AssetKey(["marts", "client_churn_features"])], group_name="ml",
       kinds={"scikitlearn", "postgres"}, description="Churn probability per client (out-of-fold).")
def churn_scores(context: AssetExecutionContext, config: ChurnConfig,
                 warehouse: WarehouseResource) -> MaterializeResult:
    params = ChurnParams(config.learning_rate, config.max_iter, config.max_depth, config.folds)
    with warehouse.connect() as conn:
        features = read_frame(conn, "select * from marts.client_churn_features")
        scores, metrics = score_churn(latest_snapshot_per_client(features), "client_id", "churns_within_90d", params)
        scores["scored_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_table(conn, "ml.churn_scores", scores)
    context.log.info(f"churn model: {metrics}")
    return MaterializeResult(metadata={"roc_auc": metrics["roc_auc"], "pr_auc": metrics["pr_auc"],
                                       "brier": metrics["brier"], "evaluation": metrics["evaluation"],
                                       "rows": metrics["rows"], "positives": metrics["positives"],
                                       "features": MetadataValue.json(metrics)})


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
