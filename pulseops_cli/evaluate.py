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

from pulseops_cli.nab_benchmark import HOW_TO_GET, nab_report
from pulseops_core.settings import REPO_ROOT

REPORTS = REPO_ROOT / "reports"
# The S demo with five times the clients. S has about 80 clients and a dozen churners with warning
# signs: a later-months test set then holds a handful of churners and its ROC AUC swings by 0.1
# with one client. 400 clients give about a hundred test positives; the planted churn and every
# other planted signal stay exactly as the generator makes them, and the build stays near 2 minutes.
EVAL_SCALE = "S400"
EVAL_CLIENTS = 400
# A fixed export date with the fixed seed: the same code gives the same figures on any day.
EVAL_AS_OF = date(2026, 11, 25)


def _scale(name: str):
    """The Scale to build: a preset's name, or "S400" for the S preset with 400 clients."""
    from ingestion.demo import SCALES

    return replace(SCALES["S"], clients=EVAL_CLIENTS) if name == EVAL_SCALE else SCALES[name]


def _scale_text(name: str) -> str:
    if name == EVAL_SCALE:
        return f"the S preset with {EVAL_CLIENTS} clients ({_scale(name)})"
    return f"scale {name}"


def _churn_lines(churn: dict) -> list[str]:
    baselines = churn["baselines"]
    rows = [("gradient boosting (calibrated)", churn), *baselines.items()]
    lines = [
        "",
        "## Churn",
        "",
        f"Evaluation: {churn.get('evaluation')}, trained on snapshot months {churn.get('train_periods')} "
        f"({churn.get('train_rows')} rows), tested on {churn.get('test_periods')} "
        f"({churn.get('test_rows')} rows, {churn.get('test_positives')} positive), "
        f"{churn.get('gap_periods')} months left out between them (the label looks 90 days ahead). "
        f"Snapshot months whose outcomes are only partly known yet are left out "
        f"({churn.get('partial_period_rows_left_out')} rows).",
        "",
        "| model | ROC AUC | PR AUC | Brier | F1 | accuracy | threshold in use | accuracy at 0.5 | "
        "accuracy at the best-F1 threshold (in hindsight) | top-decile precision |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name.replace('_', ' ')} | {m['roc_auc']} | {m['pr_auc']} | {m['brier']} | {m['f1']} | "
        f"{m['accuracy']} | {m['threshold']} | {m.get('accuracy_at_0_5')} | "
        f"{m.get('accuracy_at_best_f1')} ({m.get('best_f1_threshold')}) | {m['top_decile_precision']} |"
        for name, m in rows
    ]
    lines += [
        "",
        "Features: numeric "
        + ", ".join(churn.get("numeric_features", []))
        + "; categorical "
        + ", ".join(churn.get("categorical_features", []))
        + ".",
        "",
        "Columns not used, and why:",
        "",
    ]
    lines += [f"- `{c['column']}`: {c['reason']}" for c in churn.get("ignored_columns", [])] or ["- none"]
    lines += [
        "",
        f"Booster parameters: {json.dumps(churn['params'])}",
        "",
        "Calibration of the booster on the test rows (equal-width bins):",
        "",
        "| bin | rows | mean predicted | observed |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {b['bin_lower']}-{b['bin_upper']} | {b['rows']} | {b['mean_predicted']} | {b['observed_rate']} |"
        for b in churn.get("calibration", [])
    ]
    return lines


def _figure(value) -> str:
    if isinstance(value, dict):  # per horizon
        return ", ".join(f"{key}: {item}" for key, item in value.items())
    return str(value)


def _forecast_lines(results: dict) -> list[str]:
    short, long = results["forecast"], results["forecast_6m"]
    first_origin = short.get("first_origin")
    shifts = results.get("planted_level_shifts", [])
    late = [shift for shift in shifts if first_origin and shift["date"] >= first_origin]
    lines = [
        "## Spend forecast",
        "",
        "Rolling-origin backtest from each of the last 6 months; MAPE over every forecast month, the "
        "seasonal-naive forecast (the same month a year before, the last month while there is no year "
        "of history) on the same months. The 90% interval is split-conformal: the empirical quantiles, "
        "per horizon, of the model's past errors on all departments, each origin calibrated only on "
        "months already observed at that origin.",
        "",
        "| horizon | forecasts | MAPE | seasonal-naive MAPE | bias % | 90% interval coverage |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| up to {f['horizon']} months | {f['forecasts']} | {f['mape']} | {f['seasonal_naive_mape']} | "
        f"{f.get('bias_pct')} | {f.get('coverage')} |"
        for f in (short, long)
    ]
    by_horizon = long.get("coverage_by_horizon") or {}
    lines += [
        "",
        "Interval coverage by months ahead: "
        + ", ".join(f"{h}: {coverage}" for h, coverage in by_horizon.items())
        + ".",
    ]
    if late:
        factors = [shift["factor"] for shift in late]
        lines += [
            "",
            f"{len(late)} of the {len(shifts)} planted level shifts (a lasting step of x{min(factors)} to "
            f"x{max(factors)} on a department's main service, {late[0]['date']} to {late[-1]['date']}) fall "
            "in the backtest months. The origins before a shift have no past error of that size to "
            "calibrate on, so their forecasts run low and miss the interval more often than asked.",
        ]
    return lines


def _nab_headline(nab: dict | None) -> dict:
    """The NAB figures for the headline; None where no NAB copy was given."""
    if nab is None:
        return {"nab_f1": None, "nab_false_alerts_per_series_day": None, "nab_zscore_f1": None}
    mine, zscore = nab["detector"], nab["rolling_zscore"]
    headline = {
        "nab_f1": mine["f1"],
        "nab_precision": mine["precision"],
        "nab_recall": mine["recall"],
        "nab_false_alerts_per_series_day": mine["false_alerts_per_series_day"],
        "nab_zscore_f1": zscore["f1"],
        "nab_zscore_false_alerts_per_series_day": zscore["false_alerts_per_series_day"],
    }
    for name, figures in nab.get("published", {}).items():
        headline[f"nab_{name.lower().replace(' ', '_')}_f1"] = figures["f1"]
    return headline


def _nab_lines(nab: dict | None) -> list[str]:
    lines = ["", "## Anomalies on real metrics (NAB)", ""]
    if nab is None:
        return lines + [f"Not run: no NAB copy. {HOW_TO_GET}"]
    lines += [
        f"The Numenta Anomaly Benchmark's categories {', '.join(nab['categories'])} ({nab['series']} series, "
        "5-minute to hourly), scored by event: flagged points closer than 12 points make one alert; "
        "precision is the share of alerts inside a labelled window, recall the share of windows hit; "
        "the first 15% of each file is probation. Published detectors are replayed from NAB's "
        "`results/` at their standard thresholds.",
        "",
        "| detector | F1 | precision | recall | false alerts per series per day | alerts |",
        "|---|---|---|---|---|---|",
    ]
    rows = [
        ("PulseOps detector", nab["detector"]),
        ("rolling z-score (30 points, \\|z\\| > 3)", nab["rolling_zscore"]),
        *nab.get("published", {}).items(),
    ]
    lines += [
        f"| {name} | {m['f1']} | {m['precision']} | {m['recall']} | {m['false_alerts_per_series_day']} | "
        f"{m['alerts']} |"
        for name, m in rows
    ]
    if nab.get("sensitivity"):
        lines += [
            "",
            "The detector at other sensitivities (same categories):",
            "",
            "| sensitivity | F1 | precision | recall | false alerts per series per day |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['sensitivity']} | {c['f1']} | {c['precision']} | {c['recall']} | "
            f"{c['false_alerts_per_series_day']} |"
            for c in nab["sensitivity"]
        ]
    held = nab.get("held_out")
    if held:
        lines += [
            "",
            f"Held out, never looked at while tuning ({', '.join(held['categories'])}, {held['series']} "
            f"series): detector F1 {held['detector']['f1']} ({held['detector']['false_alerts_per_series_day']} "
            f"false alerts per series per day), rolling z-score F1 {held['rolling_zscore']['f1']} "
            f"({held['rolling_zscore']['false_alerts_per_series_day']}).",
        ]
    return lines


def _render(results: dict, scale: str) -> str:
    headline = results["headline"]
    lines = [
        "# Model evaluation",
        "",
        f"Demo data at {_scale_text(scale)}, seed 7, exported on {EVAL_AS_OF}, built by the real "
        "pipeline; `make eval` writes this file.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| `{key}` | {_figure(value)} |" for key, value in headline.items()]
    lines += _churn_lines(results["churn"])
    lines += [
        "",
        "## Spend anomalies",
        "",
        f"Planted incidents: {results['anomalies']['planted']}. Detector: "
        f"{json.dumps(results['anomalies']['detector'])}",
        "",
        f"Rolling z-score (window 30, |z| > 3): {json.dumps(results['anomalies']['rolling_zscore'])}",
    ]
    lines += _nab_lines(results.get("nab"))
    lines.append("")
    lines += _forecast_lines(results)
    lines.append("")
    return "\n".join(lines)


def main(scale: str = EVAL_SCALE) -> int:
    import psycopg

    from ingestion.demo import write_to_landing
    from ml_assets.evaluation import evaluate_all
    from orchestration.dataframes import read_frame
    from orchestration.pipeline import failure_summary, run_job
    from orchestration.resources import ObjectStoreResource
    from pulseops_core import embedded_postgres
    from pulseops_core.settings import Settings
    from pulseops_core.warehouse import libpq_url, resolve_database_url

    state = Path(tempfile.mkdtemp(prefix="pulseops-eval-"))
    os.environ["PULSEOPS_HOME"] = str(state)
    for key in ("PULSEOPS_S3_BUCKET", "DATABASE_URL"):
        os.environ.pop(key, None)
    try:
        store = ObjectStoreResource().store()
        print(f"Building the demo warehouse (scale {scale}) ...", flush=True)
        write_to_landing(store, _scale(scale), EVAL_AS_OF)
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
        results["nab"] = nab_report()
        results["headline"].update(_nab_headline(results["nab"]))
    finally:
        embedded_postgres.stop(state)
        shutil.rmtree(state, ignore_errors=True)  # a throwaway warehouse of a few hundred MB
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "model_evaluation.json").write_text(
        json.dumps(
            {**results["headline"], "details": {k: v for k, v in results.items() if k != "headline"}},
            indent=2,
            default=str,
        )
        + "\n"
    )
    (REPORTS / "model_evaluation.md").write_text(_render(results, scale))
    print(json.dumps(results["headline"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
