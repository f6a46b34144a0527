"""`make eval`: build the demo warehouse, run every model evaluation, write reports/model_evaluation.*"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

from orchestration.settings import REPO_ROOT

REPORTS = REPO_ROOT / "reports"
# The S demo with five times the clients. S has about 80 clients and a dozen churners with warning
# signs: a later-months test set then holds a handful of churners and its ROC AUC swings by 0.1
# with one client. 400 clients give about a hundred test positives; the planted churn and every
# other planted signal stay exactly as the generator makes them, and the build stays near 2 minutes.
EVAL_SCALE_NAME = "S400"
EVAL_CLIENTS = 400
# A fixed export date with the fixed seed: the same code gives the same figures on any day.
EVAL_AS_OF = date(2026, 11, 25)


def _scale_text(scale: str) -> str:
    from ingestion.demo import SCALES

    if scale == EVAL_SCALE_NAME:
        preset = replace(SCALES["S"], clients=EVAL_CLIENTS)
        return f"the S preset with {EVAL_CLIENTS} clients ({preset})"
    return f"scale {scale}"


def _churn_lines(churn: dict) -> list[str]:
    baselines = churn["baselines"]
    rows = [("gradient boosting (calibrated)", churn), *baselines.items()]
    lines = ["", "## Churn", "",
             f"Evaluation: {churn.get('evaluation')}, trained on snapshot months {churn.get('train_periods')} "
             f"({churn.get('train_rows')} rows), tested on {churn.get('test_periods')} "
             f"({churn.get('test_rows')} rows, {churn.get('test_positives')} positive), "
             f"{churn.get('gap_periods')} months left out between them (the label looks 90 days ahead). "
             f"Snapshot months whose outcomes are only partly known yet are left out "
             f"({churn.get('partial_period_rows_left_out')} rows).", "",
             "| model | ROC AUC | PR AUC | Brier | F1 | accuracy | top-decile precision |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {name.replace('_', ' ')} | {m['roc_auc']} | {m['pr_auc']} | {m['brier']} | {m['f1']} | "
              f"{m['accuracy']} | {m['top_decile_precision']} |" for name, m in rows]
    lines += ["", f"Booster parameters: {json.dumps(churn['params'])}", "",
              "Calibration of the booster on the test rows (equal-width bins):", "",
              "| bin | rows | mean predicted | observed |", "|---|---|---|---|"]
    lines += [f"| {b['bin_lower']}-{b['bin_upper']} | {b['rows']} | {b['mean_predicted']} | {b['observed_rate']} |"
              for b in churn.get("calibration", [])]
    return lines


def _render(results: dict, scale: str) -> str:
    headline = results["headline"]
    lines = ["# Model evaluation", "",
             f"Demo data at {_scale_text(scale)}, seed 7, exported on {EVAL_AS_OF}, built by the real "
             "pipeline; `make eval` writes this file.", "",
             "| figure | value |", "|---|---|"]
    lines += [f"| `{key}` | {value} |" for key, value in headline.items()]
    lines += _churn_lines(results["churn"])
    lines += ["", "## Spend anomalies", "",
              f"Planted incidents: {results['anomalies']['planted']}. Detector: "
              f"{json.dumps(results['anomalies']['detector'])}", "",
              f"Rolling z-score (window 30, |z| > 3): {json.dumps(results['anomalies']['rolling_zscore'])}",
              "", "## Spend forecast", "",
              "Rolling-origin backtest from each of the last 6 months; MAPE over every forecast month, the "
              "seasonal-naive forecast (the same month a year before, the last month while there is no year "
              "of history) on the same months:", "",
              "| horizon | forecasts | MAPE | seasonal-naive MAPE | bias % | 90% interval coverage |",
              "|---|---|---|---|---|---|"]
    lines += [f"| up to {f['horizon']} months | {f['forecasts']} | {f['mape']} | {f['seasonal_naive_mape']} | "
              f"{f.get('bias_pct')} | {f.get('coverage')} |"
              for f in (results["forecast"], results["forecast_6m"])]
    lines.append("")
    return "\n".join(lines)


def _write_demo(store, scale: str, as_of: date) -> None:
    from ingestion.demo import SCALES, write_to_landing

    if scale != EVAL_SCALE_NAME:
        write_to_landing(store, scale, as_of)
        return
    # write_to_landing takes a preset's name: the evaluation's preset is named for this call only.
    SCALES[EVAL_SCALE_NAME] = replace(SCALES["S"], clients=EVAL_CLIENTS)
    try:
        write_to_landing(store, EVAL_SCALE_NAME, as_of)
    finally:
        del SCALES[EVAL_SCALE_NAME]


def main(scale: str = EVAL_SCALE_NAME) -> int:
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
        _write_demo(store, scale, EVAL_AS_OF)
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
        shutil.rmtree(state, ignore_errors=True)  # a throwaway warehouse of a few hundred MB
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "model_evaluation.json").write_text(json.dumps(
        {**results["headline"], "details": {k: v for k, v in results.items() if k != "headline"}},
        indent=2, default=str) + "\n")
    (REPORTS / "model_evaluation.md").write_text(_render(results, scale))
    print(json.dumps(results["headline"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
