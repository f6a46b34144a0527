"""`pulseops ml churn-eval` and `pulseops ml detect`, run as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.ml_data import PLANTED, churn_panel, daily_spend
from tests.support import REPO

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it


def pulseops(*args: str) -> subprocess.CompletedProcess:
    # The console script's own module, run from this checkout (tests/test_layering.py checks the script names it).
    return subprocess.run(
        [sys.executable, "-m", "pulseops_cli.main", "ml", *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_churn_eval_prints_the_metrics_as_json(tmp_path):
    path = tmp_path / "features.csv"
    churn_panel(clients=150, months=8).to_csv(path, index=False)
    result = pulseops("churn-eval", str(path), "--id", "client_id", "--label", "churns_90d", "--time", "month")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["evaluation"] == "time_split" and metrics["test_periods"] == ["2025-07-01", "2025-08-01"]
    assert metrics["roc_auc"] > 0.8
    assert {"pr_auc", "accuracy", "f1", "brier", "calibration", "top_decile_precision"} <= set(metrics)
    assert set(metrics["baselines"]) == {"logistic_regression", "majority_class"}


def test_detect_prints_one_incident_per_planted_anomaly(tmp_path):
    path = tmp_path / "spend.csv"
    spend = daily_spend()
    spend.assign(day=spend["day"].dt.strftime("%Y-%m-%d"), department="IT").to_csv(path, index=False)
    result = pulseops(
        "detect", str(path), "--time", "day", "--value", "cost", "--series", "department", "--sensitivity", "1.0"
    )
    assert result.returncode == 0, result.stderr
    incidents = json.loads(result.stdout)
    found = {(i["kind"], i["start_time"][:10]) for i in incidents}
    planted = {(kind, str(spend["day"].iloc[day].date())) for kind, day in PLANTED.items()}
    assert found == planted
    assert all(i["department"] == "IT" for i in incidents)


def test_detect_names_the_driver_with_a_breakdown(tmp_path):
    path = tmp_path / "by_service.csv"
    parts = [
        daily_spend(seed=1, plant=False).assign(service="compute"),
        daily_spend(seed=2, base=40.0, plant=False).assign(service="storage"),
    ]
    parts[1].loc[300, "cost"] *= 8
    pd.concat(parts).to_csv(path, index=False)
    result = pulseops("detect", str(path), "--time", "day", "--value", "cost", "--breakdown", "service")
    assert result.returncode == 0, result.stderr
    incidents = json.loads(result.stdout)
    assert [(i["kind"], i["driver"]) for i in incidents] == [("spike", "storage")]
    assert incidents[0]["drivers"][0]["part"] == "storage"


def test_a_bad_column_is_reported_not_a_traceback(tmp_path):
    path = tmp_path / "features.csv"
    churn_panel(clients=20, months=2).to_csv(path, index=False)
    result = pulseops("churn-eval", str(path), "--id", "customer", "--label", "churns_90d")
    assert result.returncode == 2
    assert "columns ['customer'] are not in the table" in result.stderr
    assert "Traceback" not in result.stderr


def test_churn_eval_names_every_column_it_does_not_use(tmp_path):
    from tests.ml_data import churn_export
    from tests.test_ml_churn import IGNORED_IN_EXPORT

    path = tmp_path / "export.csv"
    churn_export()[0].to_csv(path, index=False)
    result = pulseops("churn-eval", str(path), "--id", "client_id", "--label", "churns_90d", "--time", "month")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["ignored_columns"] == IGNORED_IN_EXPORT
    assert "p1_tickets" in metrics["numeric_features"] and metrics["numeric_text_features"] == ["p1_tickets"]
    assert {"accuracy", "threshold", "accuracy_at_0_5", "best_f1_threshold", "accuracy_at_best_f1"} <= set(metrics)
    assert result.stderr.splitlines() == [
        f"pulseops ml: column {c['column']!r} not used: {c['reason']}" for c in IGNORED_IN_EXPORT
    ]
