"""`make eval`: build the demo warehouse, run every model evaluation, write reports/model_evaluation.*"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

from orchestration.settings import REPO_ROOT

REPORTS = REPO_ROOT / "reports"


def _render(results: dict, scale: str) -> str:
    headline = results["headline"]
    churn = results["churn"]
    lines = ["# Model evaluation", "",
             f"Demo data at scale {scale} (seeded), built by the real pipeline; `make eval` writes this file.", "",
             "| figure | value |", "|---|---|"]
    lines += [f"| `{key}` | {value} |" for key, value in headline.items()]
    lines += ["", "## Churn", "",
              f"Evaluation: {churn.get('evaluation')}, test rows {churn.get('test_rows')} "
              f"({churn.get('test_positives')} positive), trained on {churn.get('train_rows')} rows.",
              "Baselines in the same run: logistic regression and the majority class.", "",
              "Calibration (mean predicted vs observed per bin):", "",
              "```", json.dumps(churn.get("calibration_curve"), indent=1), "```",
              "", "## Spend anomalies", "",
              f"Planted incidents: {results['anomalies']['planted']}. Detector: "
              f"{json.dumps(results['anomalies']['detector'])}", "",
              f"Rolling z-score (window 30, |z| > 3): {json.dumps(results['anomalies']['rolling_zscore'])}",
              "", "## Spend forecast", "",
              f"Rolling-origin backtest, 3 months ahead, 6 origins: MAPE {results['forecast']['mape']} "
              f"vs seasonal naive {results['forecast']['seasonal_naive_mape']}; interval coverage "
              f"{results['forecast'].get('coverage')}.", ""]
    return "\n".join(lines)


def main(scale: str = "S") -> int:
    from ingestion.demo import write_to_landing
    from ml_assets.evaluation import evaluate_all
    from orchestration import embedded_postgres
    from orchestration.pipeline import failure_summary, run_job
    from orchestration.resources import ObjectStoreResource
    from orchestration.settings import Settings
    from orchestration.warehouse import libpq_url, read_frame, resolve_database_url

    import psycopg

    state = Path(tempfile.mkdtemp(prefix="pulseops-eval-"))
    os.environ["PULSEOPS_HOME"] = str(state)
    for key in ("PULSEOPS_S3_BUCKET", "DATABASE_URL"):
        os.environ.pop(key, None)
    try:
        store = ObjectStoreResource().store()
        print(f"Building the demo warehouse (scale {scale}) ...", flush=True)
        write_to_landing(store, scale, date.today())
        result = run_job("pulseops_job", run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        if not result.success:
            print(failure_summary(result), file=sys.stderr)
            return 1
        truth = json.loads(store.get_bytes("demo_truth/ground_truth.json"))
        with psycopg.connect(libpq_url(resolve_database_url(Settings.from_env()))) as conn:
            features = read_frame(conn, "select * from marts.client_churn_features")
            spend = read_frame(conn, "select charge_date, department, billed_cost from marts.department_daily_spend")
        print("Evaluating ...", flush=True)
        results = evaluate_all(features, spend, truth)
    finally:
        embedded_postgres.stop(state)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "model_evaluation.json").write_text(json.dumps(
        {**results["headline"], "details": {k: v for k, v in results.items() if k != "headline"}},
        indent=2, default=str) + "\n")
    (REPORTS / "model_evaluation.md").write_text(_render(results, scale))
    print(json.dumps(results["headline"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
