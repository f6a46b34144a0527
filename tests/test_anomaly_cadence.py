"""The detector on metrics of other cadences than daily spend: known answers for quantized values,
a weekly season at hourly cadence, recovery after a change of level, short series and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.anomalies import DetectorParams, detect, score_series
from ml_assets.timeseries import candidate_periods, infer_period, regular_series, value_resolution

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it

FIVE_MINUTES = pd.Timedelta(minutes=5)


def _frame(values, freq="5min", start="2026-03-02") -> pd.DataFrame:
    return pd.DataFrame({"at": pd.date_range(start, periods=len(values), freq=freq), "v": values})


def test_quantized_cpu_is_not_flagged_for_its_steps():
    # Whole percentages around 12 %: the median deviation is 0 or 1 and most residuals are equal.
    rng = np.random.default_rng(5)
    cpu = np.clip(np.round(12 + rng.normal(0, 0.6, 4032)), 0, 100)
    assert value_resolution(cpu) == 1.0
    assert detect(_frame(cpu), "at", "v").empty
    cpu[3000:3003] = 70  # a runaway process for 15 minutes
    found = detect(_frame(cpu), "at", "v")
    assert len(found) == 1 and found["kind"].iloc[0] in ("spike", "level_shift")
    assert found["start_time"].iloc[0] == _frame(cpu)["at"].iloc[3000]


def test_weekly_season_is_found_at_hourly_cadence():
    hours = pd.date_range("2026-01-05", periods=24 * 7 * 6, freq="h")  # six weeks from a Monday
    rng = np.random.default_rng(8)
    weekday = (hours.day_of_week < 5).astype(float)
    office = ((hours.hour >= 8) & (hours.hour < 18)).astype(float)
    load = 20 + 60 * weekday * office + rng.normal(0, 2, len(hours))
    frame = pd.DataFrame({"at": hours, "v": load})
    series = regular_series(frame["at"], frame["v"])
    assert candidate_periods(pd.Timedelta(hours=1), len(series)) == [24, 168]
    assert infer_period(series, pd.Timedelta(hours=1)) == 168
    assert detect(frame, "at", "v").empty  # quiet weekends are the season, not a drop
    frame.loc[24 * 7 * 5 + 10, "v"] = 20  # the office empty on a Monday morning of week six
    found = detect(frame, "at", "v")
    assert found["start_time"].tolist() == [hours[24 * 7 * 5 + 10]] and found["kind"].tolist() == ["drop"]


def test_a_change_of_level_is_one_incident_and_then_the_new_normal():
    rng = np.random.default_rng(11)
    values = 100 + rng.normal(0, 2, 4000)
    values[2500:] += 40  # a new instance type: every point from here on is higher
    points = score_series(_frame(values)["at"], pd.Series(values))
    found = detect(_frame(values), "at", "v")
    after = found[found["start_time"] >= _frame(values)["at"].iloc[2500]]
    assert after["kind"].tolist() == ["level_shift"]
    assert after["start_time"].iloc[0] == _frame(values)["at"].iloc[2500]
    assert len(found) <= 2  # at most one stray 4-sigma point in 2,500 before it
    # Accepted after a fixed handful of points, not half a day of 5-minute points.
    assert points["flagged"].iloc[2500:].sum() <= 6
    assert not points["flagged"].iloc[2510:].any()
    assert abs(points["expected"].iloc[-1] - 140) < 3


def test_a_short_series_gets_no_season_and_no_error():
    assert candidate_periods(FIVE_MINUTES, 2 * 288) == []  # two days cannot show a daily cycle thrice
    assert candidate_periods(pd.Timedelta(days=1), 20) == []
    rng = np.random.default_rng(3)
    values = 50 + rng.normal(0, 1, 2 * 288)
    values[400] = 90
    found = detect(_frame(values), "at", "v")
    assert _frame(values)["at"].iloc[400] in found["start_time"].tolist()
    assert len(found) <= 2  # the spike, and at most one stray point while the spread is still learnt
    tiny = detect(_frame([5.0, 6.0, 5.0], freq="D"), "at", "v")
    assert tiny.empty


def test_missing_five_minute_points_are_gaps_that_break_nothing():
    rng = np.random.default_rng(4)
    values = 30 + 10 * np.sin(np.arange(3 * 2016) * 2 * np.pi / 288) + rng.normal(0, 0.5, 3 * 2016)
    frame = _frame(values).drop(index=list(range(3000, 3036)) + [4100, 4102, 4104])  # 3 hours out, then a few
    points = score_series(frame["at"], frame["v"])
    assert len(points) == 3 * 2016 and points["value"].isna().sum() == 39
    assert not points["flagged"].any()


def test_bursty_counts_raise_their_own_bar_but_a_burst_like_no_other_still_alerts():
    rng = np.random.default_rng(9)
    counts = rng.poisson(20, 4032).astype(float)
    bursts = rng.choice(np.arange(600, 3900), 80, replace=False)
    counts[bursts] *= rng.uniform(2.0, 3.0, len(bursts))  # 2 % of points: this series' usual chatter
    fixed_bar = detect(_frame(counts), "at", "v", params=DetectorParams(tail_factor=0.0))
    assert len(fixed_bar) >= 60  # a fixed 4-sigma bar alerts on most of the 80 bursts
    assert len(detect(_frame(counts), "at", "v")) <= 15
    counts[3950] = 20 * 12
    found = detect(_frame(counts), "at", "v")
    assert _frame(counts)["at"].iloc[3950] in found["start_time"].tolist()


def test_a_change_of_level_in_a_daily_cycle_of_five_minute_points_is_one_incident():
    # With a day of 288 points as the season, recovery must still take a handful of points, not
    # half a cycle (12 hours) of alerts while the new level is doubted.
    rng = np.random.default_rng(11)
    steps = np.arange(8 * 288)
    values = 100 + 30 * np.sin(2 * np.pi * steps / 288) + rng.normal(0, 2, len(steps))
    values[6 * 288 :] += 40
    frame = _frame(values)
    params = DetectorParams(period=288)
    points = score_series(frame["at"], frame["v"], params)
    assert points["flagged"].iloc[6 * 288 :].sum() == 4 and not points["flagged"].iloc[6 * 288 + 4 :].any()
    found = detect(frame, "at", "v", params=params)
    assert found[["kind", "start_time", "points"]].values.tolist() == [["level_shift", frame["at"].iloc[6 * 288], 4]]


def test_jittered_readings_keep_their_own_slot_and_are_never_added_together():
    # A speed sensor read every 5 minutes, but one reading comes a minute early and two come
    # 2 minutes apart: neither may be summed with a neighbour into a doubled speed.
    start = pd.Timestamp("2026-03-02")
    offsets = [0, 5, 9, 15, 20, 21, 25, 30]  # minutes
    speeds = [60.0, 62.0, 61.0, 59.0, 60.0, 64.0, 63.0, 61.0]
    frame = pd.DataFrame({"at": [start + pd.Timedelta(minutes=m) for m in offsets], "v": speeds})
    series = regular_series(frame["at"], frame["v"], FIVE_MINUTES)
    assert series.index.tolist() == list(pd.date_range(start, periods=7, freq="5min"))
    # 9 min goes to 10, not to 5; 20 and 21 share the 20 slot and it holds their mean.
    assert series.tolist() == [60.0, 62.0, 61.0, 59.0, 62.0, 63.0, 61.0]
    # Rows with the same timestamp are parts of one reading (a day's invoices) and still add up.
    parts = pd.DataFrame({"at": [start, start, start + pd.Timedelta(days=1)], "v": [1.0, 2.0, 4.0]})
    assert regular_series(parts["at"], parts["v"]).tolist() == [3.0, 4.0]
