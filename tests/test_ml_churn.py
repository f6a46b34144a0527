"""The churn trainer on a feature table whose label follows a planted rule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml_assets.churn import (
    ChurnModel,
    ChurnParams,
    churn_readiness,
    evaluate_churn,
    no_scores,
    score_churn,
    train_churn,
)
from ml_assets.features import split_features
from tests.ml_data import churn_export, churn_panel

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return churn_panel()


@pytest.fixture(scope="module")
def run(panel):
    return train_churn(panel, "client_id", "churns_90d", "month")


def test_time_split_trains_on_the_past_and_tests_on_the_latest_months(run):
    metrics = run.metrics
    assert metrics["evaluation"] == "time_split"
    assert metrics["train_periods"] == ["2025-01-01", "2025-09-01"]
    assert metrics["test_periods"] == ["2025-10-01", "2025-12-01"]
    assert metrics["test_rows"] == 600 and metrics["train_rows"] == 1800


def test_planted_rule_is_learned_and_beats_both_baselines(run):
    metrics, logistic, majority = (
        run.metrics,
        run.metrics["baselines"]["logistic_regression"],
        run.metrics["baselines"]["majority_class"],
    )
    assert metrics["roc_auc"] >= 0.88
    assert metrics["roc_auc"] > logistic["roc_auc"] + 0.1
    assert majority["roc_auc"] == 0.5
    assert metrics["pr_auc"] > logistic["pr_auc"] > metrics["base_rate"]
    assert metrics["f1"] > logistic["f1"] > majority["f1"] == 0.0
    assert metrics["brier"] < logistic["brier"] < majority["brier"]
    assert metrics["top_decile_precision"] >= 0.8
    # Accuracy is reported, and the majority class alone scores well on it: the reason it is not enough.
    assert majority["accuracy"] == pytest.approx(1 - metrics["base_rate"], abs=1e-3)


def test_probabilities_are_calibrated(run):
    metrics = run.metrics
    assert metrics["expected_calibration_error"] < 0.05
    assert sum(b["rows"] for b in metrics["calibration"]) == metrics["test_rows"]
    for row in metrics["calibration"]:
        assert set(row) == {"bin_lower", "bin_upper", "rows", "mean_predicted", "observed_rate"}


def test_features_are_found_by_type(panel, run):
    assert run.metrics["numeric_features"] == ["csat", "p1_tickets", "ticket_trend", "days_late", "noise"]
    assert run.metrics["categorical_features"] == ["segment", "region"]
    tagged = panel.assign(invoice_ref=[f"INV-{i}" for i in range(len(panel))], note=None)
    spec = split_features(tagged, "client_id", "churns_90d", "month", exclude=("noise",))
    assert "invoice_ref" in spec.ignored and "note" in spec.ignored and "noise" in spec.ignored
    assert "noise" not in spec.columns and "month" not in spec.columns


def test_every_id_gets_its_latest_score_with_drivers(panel, run):
    scores = run.scores
    assert len(scores) == panel["client_id"].nunique()
    assert (scores["month"] == panel["month"].max()).all()
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["model_version"].nunique() == 1
    latest = panel[panel["month"] == panel["month"].max()].set_index("client_id")
    # A client whose only oddity is a ticket load far above normal: that is its top driver.
    typical = latest[
        (latest["csat"] > 4) & (latest["p1_tickets"] <= 1) & (latest["days_late"] < 10) & (latest["ticket_trend"] > 3)
    ]
    assert len(typical)
    drivers = json.loads(scores.set_index("client_id").at[typical.index[0], "drivers"])
    assert drivers[0]["feature"] == "ticket_trend" and drivers[0]["effect"] > 0.2
    assert set(drivers[0]) == {"feature", "value", "typical", "effect"}


def test_model_round_trips_through_bytes_with_its_metrics(panel, run):
    data, metadata = run.model.artefact()
    assert isinstance(data, bytes) and metadata["bytes"] == len(data)
    assert metadata["version"] == run.scores["model_version"].iloc[0] and len(metadata["version"]) == 12
    assert metadata["metrics"]["roc_auc"] == run.metrics["roc_auc"]
    json.dumps(metadata)  # the caller stores it as JSON beside the bytes
    loaded = ChurnModel.from_bytes(data)
    sample = panel.tail(50)
    assert np.allclose(loaded.predict(sample), run.model.predict(sample))


def test_unknown_labels_are_scored_but_not_learned_from(panel):
    recent = panel["month"] == panel["month"].max()
    censored = panel.assign(churns_90d=panel["churns_90d"].astype(object).where(~recent, None))
    params = ChurnParams(max_iter=60)
    run = train_churn(censored, "client_id", "churns_90d", "month", params)
    assert run.metrics["labelled_rows"] == int((~recent).sum())
    assert run.metrics["test_periods"] == ["2025-09-01", "2025-11-01"]
    assert (run.scores["month"] == panel["month"].max()).all()


def test_latest_months_with_only_some_outcomes_known_are_left_out(panel):
    # As with real churn: in the last two months only the clients who already left have a known outcome.
    months = sorted(panel["month"].unique())
    recent = panel["month"].isin(months[-2:])
    partly_known = panel.assign(churns_90d=panel["churns_90d"].astype(object).where(~recent | panel["churns_90d"]))
    run = train_churn(partly_known, "client_id", "churns_90d", "month", ChurnParams(max_iter=60))
    known_early = int((recent & panel["churns_90d"]).sum())
    assert known_early > 0 and run.metrics["partial_period_rows_left_out"] == known_early
    assert run.metrics["labelled_rows"] == int((~recent).sum())
    assert run.metrics["test_periods"][1] == str(pd.Timestamp(months[-3]).date())
    # the test rows' base rate is the true one, not inflated by early-known churners
    first, last = (pd.Timestamp(m) for m in run.metrics["test_periods"])
    assert run.metrics["base_rate"] == pytest.approx(
        panel.loc[panel["month"].between(first, last), "churns_90d"].mean(), abs=1e-3
    )
    assert (run.scores["month"] == panel["month"].max()).all()  # still scored


def test_gap_keeps_training_labels_out_of_the_test_window(panel):
    metrics = evaluate_churn(
        panel, "client_id", "churns_90d", "month", ChurnParams(max_iter=60, test_periods=2, gap_periods=3)
    )
    assert metrics["train_periods"] == ["2025-01-01", "2025-07-01"]
    assert metrics["test_periods"] == ["2025-11-01", "2025-12-01"]


def test_without_a_time_column_it_is_stratified_k_fold(panel):
    one_per_client = churn_panel(clients=900, months=1, seed=4).drop(columns="month")
    one_per_client["churns_90d"] = one_per_client["churns_90d"].map({True: "yes", False: "no"})
    metrics = evaluate_churn(one_per_client, "client_id", "churns_90d", params=ChurnParams(max_iter=100))
    assert metrics["evaluation"] == "stratified_kfold" and metrics["folds"] == 5
    assert metrics["test_rows"] == 900
    assert metrics["roc_auc"] >= 0.8 and metrics["roc_auc"] > metrics["baselines"]["logistic_regression"]["roc_auc"]
    grouped = evaluate_churn(panel.head(1200), "client_id", "churns_90d", params=ChurnParams(max_iter=60))
    assert grouped["evaluation"] == "stratified_group_kfold"


def test_score_churn_gives_out_of_fold_scores_for_a_table_without_time():
    table = churn_panel(clients=300, months=1, seed=5).drop(columns="month")
    scores, metrics = score_churn(table, "client_id", "churns_90d", ChurnParams(max_iter=60, folds=3))
    assert list(scores.columns) == ["client_id", "churn_probability", "churn_predicted", "drivers", "model_version"]
    assert len(scores) == 300 and metrics["rows"] == 300 and metrics["roc_auc"] > 0.7
    churned = table["churns_90d"].to_numpy()
    assert scores["churn_probability"][churned].mean() > scores["churn_probability"][~churned].mean() + 0.15


def test_clear_errors_for_unusable_tables(panel):
    with pytest.raises(ValueError, match="not in the table"):
        evaluate_churn(panel, "client", "churns_90d")
    with pytest.raises(ValueError, match="binary"):
        evaluate_churn(panel.assign(churns_90d=panel["p1_tickets"]), "client_id", "churns_90d")
    with pytest.raises(ValueError, match="two examples of each class"):
        evaluate_churn(panel.assign(churns_90d=False).head(50), "client_id", "churns_90d")


def _churners_only(panel: pd.DataFrame, churned_ids: list[str]) -> pd.DataFrame:
    """The panel with the label true only for the named ids, in every month."""
    return panel.assign(churns_90d=panel["client_id"].isin(churned_ids))


def test_too_few_churned_clients_is_not_ready_and_says_how_many(panel):
    few = _churners_only(panel, ["C0003", "C0007"])
    readiness = churn_readiness(few, "client_id", "churns_90d", "month")
    assert not readiness.ready
    assert readiness.reason == "not enough churn history yet: 2 churned clients, need 10"
    assert (readiness.churned_ids, readiness.stayed_ids, readiness.labelled_rows) == (2, 198, 2400)


def test_enough_churned_clients_is_ready(panel):
    ten = _churners_only(panel, [f"C{i:04d}" for i in range(10)])
    readiness = churn_readiness(ten, "client_id", "churns_90d", "month")
    assert readiness.ready
    assert readiness.reason == "trained on 2400 labelled snapshots of 200 clients, 10 of whom churned"
    assert not churn_readiness(ten, "client_id", "churns_90d", "month", ChurnParams(min_churned_ids=11)).ready


def test_no_known_outcome_or_no_stayer_is_not_ready(panel):
    unknown = panel.assign(churns_90d=None)
    assert churn_readiness(unknown, "client_id", "churns_90d", "month").reason.startswith("no churn outcomes known")
    everyone = panel.head(30).assign(churns_90d=True)
    assert (
        churn_readiness(everyone, "client_id", "churns_90d", "month").reason
        == "not enough history of clients staying yet: 0 clients, need 10"
    )


def test_a_table_where_no_column_varies_waits_and_says_why(panel):
    """Enough history, but every other column holds one value (a portfolio too young to differ)."""
    ten = _churners_only(panel, [f"C{i:04d}" for i in range(10)])[["client_id", "churns_90d", "month"]]
    readiness = churn_readiness(ten.assign(segment="SMB"), "client_id", "churns_90d", "month")
    assert not readiness.ready
    assert readiness.reason.startswith("nothing to learn from yet: the table has no feature columns")
    assert "segment: " in readiness.reason
    with pytest.raises(ValueError, match="no feature columns"):
        train_churn(ten.assign(segment="SMB"), "client_id", "churns_90d", "month")


def test_a_history_too_short_for_the_time_split_still_scores_each_id_once():
    # Four snapshot months and a 3-month gap leave no training months: the evaluation falls back
    # to folds grouped by client, and the scores stay one per client of the latest month.
    short = churn_panel(clients=60, months=4, seed=2)
    run = train_churn(short, "client_id", "churns_90d", "month", ChurnParams(max_iter=40, gap_periods=3))
    assert run.metrics["evaluation"] == "stratified_group_kfold"
    assert len(run.scores) == 60 and (run.scores["month"] == short["month"].max()).all()
    assert run.scores["churn_probability"].between(0, 1).all()


def test_no_scores_is_typed_and_empty():
    empty = no_scores("client_id")
    assert len(empty) == 0
    assert empty.dtypes.astype(str).to_dict() == {
        "client_id": "object",
        "churn_probability": "float64",
        "churn_predicted": "bool",
        "drivers": "object",
        "model_version": "object",
    }


IGNORED_IN_EXPORT = [
    {"column": "ticket_ref", "reason": "identifier-like: 2400 distinct values in 2400 rows"},
    {"column": "account_manager", "reason": "constant: 'Dana' on every row that has a value"},
    {"column": "note", "reason": "free text: 2400 distinct values in 2400 rows"},
]


def test_a_spreadsheet_export_is_read_with_every_column_accounted_for(tmp_path):
    """Numbers as text with blank cells are numbers; every column left out is named with its reason."""
    export, panel = churn_export()
    path = tmp_path / "export.csv"
    export.to_csv(path, index=False)
    frame = pd.read_csv(path)
    assert not pd.api.types.is_numeric_dtype(frame["p1_tickets"]) and frame["p1_tickets"].str.strip().eq("").sum() > 50

    metrics = evaluate_churn(frame, "client_id", "churns_90d", "month")

    assert metrics["numeric_features"] == ["csat", "p1_tickets", "ticket_trend", "days_late", "noise"]
    assert metrics["numeric_text_features"] == ["p1_tickets"]
    assert metrics["categorical_features"] == ["segment", "region"]
    assert metrics["ignored_columns"] == IGNORED_IN_EXPORT
    # read as the same numbers the panel holds: the same model, to the last figure
    as_numbers = evaluate_churn(panel, "client_id", "churns_90d", "month")
    assert (metrics["roc_auc"], metrics["brier"]) == (as_numbers["roc_auc"], as_numbers["brier"])
    without = evaluate_churn(frame, "client_id", "churns_90d", "month", exclude=("p1_tickets",))
    assert without["ignored_columns"][0] == {
        "column": "p1_tickets",
        "reason": "excluded: named as no feature (--exclude)",
    }
    assert metrics["roc_auc"] > without["roc_auc"] + 0.02, "the P1 counts carry the planted rule"


def test_accuracy_is_reported_at_0_5_and_at_the_best_f1_threshold(run):
    metrics = run.metrics
    assert 0 < metrics["best_f1_threshold"] < 1 and metrics["best_f1_threshold"] != 0.5
    assert metrics["f1_at_best_f1"] >= max(metrics["f1"], metrics["f1_at_0_5"])
    assert metrics["accuracy_at_best_f1"] != metrics["accuracy_at_0_5"]
    # the majority class predicts the base rate, under 0.5: at 0.5 it calls no one a churner
    majority = metrics["baselines"]["majority_class"]
    assert majority["accuracy_at_0_5"] == pytest.approx(1 - metrics["base_rate"], abs=1e-3)
    assert majority["f1_at_0_5"] == 0.0
