"""The anomaly detector on series with planted incidents, beside the rolling z-score baseline."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml_assets.anomalies import DetectorParams, attribute, detect, detect_with_total, score_series
from ml_assets.anomaly_eval import evaluate_alerts, rolling_zscore
from ml_assets.timeseries import infer_period, infer_step, regular_series
from tests.ml_data import PLANTED, daily_spend, planted_truth

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it

WEEKENDS = {"a": 0.6, "b": 0.8, "c": 0.9, "d": 1.0}  # weekend spend as a share of a weekday


@pytest.fixture(scope="module")
def spend() -> pd.DataFrame:
    return pd.concat(
        [daily_spend(seed=i, weekend=w).assign(series=name) for i, (name, w) in enumerate(WEEKENDS.items())],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def incidents(spend) -> pd.DataFrame:
    return detect(spend, "day", "cost", "series")


def test_each_planted_incident_is_one_alert_of_the_right_kind(spend, incidents):
    days = daily_spend()["day"]
    for name in WEEKENDS:
        mine = incidents[incidents["series"] == name]
        for kind, day in PLANTED.items():
            hits = mine[(mine["start_time"] <= days[day]) & (mine["end_time"] >= days[day])]
            assert len(hits) == 1, (name, kind, mine)
            assert hits["kind"].iloc[0] == kind and hits["start_time"].iloc[0] == days[day]
    shifts = incidents[incidents["kind"] == "level_shift"]
    assert (shifts["points"] >= 3).all() and (shifts["end_time"] > shifts["start_time"]).all()
    assert shifts["change"].between(0.4, 0.6).all()  # planted: +50%


def test_it_beats_the_rolling_z_score(spend, incidents):
    truth = planted_truth(list(WEEKENDS), daily_spend())
    series_months = len(WEEKENDS) * spend["day"].nunique() / 30.44
    ours = evaluate_alerts(incidents, truth, series_months)
    baseline = evaluate_alerts(rolling_zscore(spend, "day", "cost", "series"), truth, series_months)
    assert ours["recall"] == 1.0 and ours["f1"] >= 0.9
    assert ours["f1"] > baseline["f1"] + 0.15
    assert ours["false_alerts"] < baseline["false_alerts"]
    assert ours["false_alerts_per_series_month"] < 0.05


def test_trend_and_weekly_rhythm_alone_raise_next_to_nothing():
    quiet = pd.concat(
        [
            daily_spend(days=730, seed=seed, growth=growth, plant=False).assign(series=f"{seed}")
            for seed, growth in [(11, 1.5), (12, -0.3), (13, 0.0), (14, 0.6)]
        ]
    )
    # Four series, two years each, no incident planted: a stray 4-sigma day or two in all of it.
    assert len(detect(quiet, "day", "cost", "series")) <= 2


def test_sensitivity_trades_alerts_for_misses(spend):
    counts = [len(detect(spend, "day", "cost", "series", DetectorParams(sensitivity=s))) for s in (0.3, 1.0, 2.0)]
    assert counts[0] < counts[1] < counts[2]


def test_frequency_and_season_are_inferred():
    hours = pd.date_range("2026-01-01", periods=24 * 42, freq="h")
    rng = np.random.default_rng(2)
    load = 50 + 30 * np.sin(2 * np.pi * hours.hour.to_numpy() / 24) + rng.normal(0, 1.5, len(hours))
    load[700] += 40
    frame = pd.DataFrame({"at": hours, "requests": load})
    assert infer_step(frame["at"]) == pd.Timedelta(hours=1)
    assert infer_period(regular_series(frame["at"], frame["requests"]), pd.Timedelta(hours=1)) == 24
    found = detect(frame, "at", "requests")
    assert found["start_time"].tolist() == [hours[700]] and found["kind"].tolist() == ["spike"]
    months = pd.date_range("2020-01-01", periods=60, freq="MS")
    assert infer_step(pd.Series(months)) == "MS"


def test_missing_days_are_gaps_not_zeros():
    frame = daily_spend(days=200, seed=4, plant=False).drop(index=[120, 121, 122])
    points = score_series(frame["day"], frame["cost"])
    assert len(points) == 200 and points["value"].isna().sum() == 3
    assert not points["flagged"].any()


def test_attribution_names_the_part_that_moved():
    parts = []
    for i, service in enumerate(["compute", "storage", "database"]):
        part = daily_spend(seed=20 + i, base=[300, 100, 60][i], plant=False)
        if service == "storage":
            part.loc[400, "cost"] *= 6  # the total rises by about half
            part.loc[500:, "cost"] *= 2.5
        parts.append(part.assign(service=service, department="IT"))
    frame = pd.concat(parts, ignore_index=True)
    totals = frame.groupby(["department", "day"], as_index=False)["cost"].sum()
    incidents = attribute(frame, detect(totals, "day", "cost", "department"), "day", "cost", "service", "department")
    assert incidents["kind"].tolist() == ["spike", "level_shift"]
    assert incidents["driver"].tolist() == ["storage", "storage"]
    assert (incidents["driver_share"] > 0.8).all()
    drivers = json.loads(incidents["drivers"].iloc[0])
    assert drivers[0]["part"] == "storage" and drivers[0]["excess"] > 0


def test_rolling_z_score_is_the_plain_textbook_one():
    values = np.r_[np.tile([10.0, 12.0], 20), 30.0, 11.0]
    frame = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=len(values)), "v": values})
    alerts = rolling_zscore(frame, "t", "v")
    previous = values[10:40]
    assert alerts["start_time"].tolist() == [frame["t"].iloc[40]]
    assert alerts["score"].iloc[0] == pytest.approx((30 - previous.mean()) / previous.std(ddof=1), abs=0.01)


def test_alert_evaluation_counts_storms_as_false_alerts():
    day = pd.Timestamp("2026-03-10")
    truth = pd.DataFrame({"series": ["x", "x"], "time": [day, day + pd.Timedelta(days=40)]})
    alerts = pd.DataFrame(
        {
            "series": ["x", "x", "x", "y"],
            "start_time": [day, day + pd.Timedelta(days=1), day + pd.Timedelta(days=9), day],
            "end_time": [day, day + pd.Timedelta(days=1), day + pd.Timedelta(days=9), day],
        }
    )
    result = evaluate_alerts(alerts, truth, series_months=4.0)
    assert (result["true_alerts"], result["false_alerts"], result["detected"]) == (1, 3, 1)
    assert result["precision"] == 0.25 and result["recall"] == 0.5
    assert result["f1"] == pytest.approx(2 * 0.25 * 0.5 / 0.75, abs=1e-4)
    assert result["false_alerts_per_series_month"] == 0.75


def test_the_total_is_watched_too_and_names_the_series_that_moved_it():
    parts = []
    for i, department in enumerate(["sales", "ops", "it"]):
        part = daily_spend(seed=30 + i, base=100.0, plant=False, noise=0.02)
        if department == "it":
            part.loc[200, "cost"] *= 4
        parts.append(part.assign(department=department))
    frame = pd.concat(parts, ignore_index=True)
    found = detect_with_total(frame, "day", "cost", "department")
    days = daily_spend(plant=False)["day"]
    mine = found[found["scope"] == "department"]
    assert mine[mine["start_time"] == days[200]]["department"].tolist() == ["it"]
    total = found[found["scope"] == "total"]
    assert total["department"].isna().all()
    assert days[200] in total["start_time"].tolist()  # the spike shows in the total as well
    assert total.set_index("start_time").loc[days[200], "driver"] == "it"
