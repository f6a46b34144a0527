"""ML assets: read marts through the warehouse resource, write scores to schema `ml`."""

from datetime import datetime, timezone

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from ml_assets.anomalies import AnomalyParams, flag_anomalies
from ml_assets.churn import ChurnParams, score_churn
from orchestration.resources import WarehouseResource
from orchestration.warehouse import read_frame, replace_table


class ChurnConfig(Config):
    learning_rate: float = Field(default=0.1, description="Gradient boosting learning rate.")
    max_iter: int = Field(default=200, description="Boosting iterations.")
    max_depth: int = Field(default=3, description="Depth of each tree.")
    folds: int = Field(default=5, description="Cross-validation folds for out-of-fold scores.")


class AnomalyConfig(Config):
    window: int = Field(default=28, description="Trailing days whose residuals give the expected spread.")
    threshold: float = Field(default=4.0, description="Robust z-score above which a day is flagged.")


@asset(key=AssetKey(["ml", "churn_scores"]), deps=[AssetKey(["marts", "client_churn_features"])], group_name="ml",
       kinds={"scikitlearn", "postgres"}, description="Churn probability per client (out-of-fold).")
def churn_scores(context: AssetExecutionContext, config: ChurnConfig,
                 warehouse: WarehouseResource) -> MaterializeResult:
    params = ChurnParams(config.learning_rate, config.max_iter, config.max_depth, config.folds)
    with warehouse.connect() as conn:
        features = read_frame(conn, "select * from marts.client_churn_features")
        scores, metrics = score_churn(features, "client_id", "has_churned", params)
        scores["scored_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_table(conn, "ml.churn_scores", scores)
    context.log.info(f"churn model: {metrics}")
    return MaterializeResult(metadata={"roc_auc": metrics["roc_auc"], "rows": metrics["rows"],
                                       "positives": metrics["positives"],
                                       "features": MetadataValue.json(metrics)})


@asset(key=AssetKey(["ml", "spend_anomalies"]), deps=[AssetKey(["marts", "department_daily_spend"])], group_name="ml",
       kinds={"python", "postgres"}, description="Days whose departmental spend breaks from its recent pattern.")
def spend_anomalies(context: AssetExecutionContext, config: AnomalyConfig,
                    warehouse: WarehouseResource) -> MaterializeResult:
    params = AnomalyParams(window=config.window, threshold=config.threshold)
    with warehouse.connect() as conn:
        spend = read_frame(conn, "select charge_date, department, billed_cost from marts.department_daily_spend")
        flagged = flag_anomalies(spend, "charge_date", "billed_cost", "department", params)
        flagged["charge_date"] = flagged["charge_date"].astype("datetime64[ns]")
        replace_table(conn, "ml.spend_anomalies", flagged)
    context.log.info(f"{len(flagged)} anomalous department-days")
    return MaterializeResult(metadata={"anomalies": len(flagged)})


ml_assets = [churn_scores, spend_anomalies]
