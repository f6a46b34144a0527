"""Event-level scoring of alerts against labelled windows, NAB's way, on hand-counted answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.anomaly_eval import merge_flags, score_windows, summarise_windows

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it


def test_flags_closer_than_the_gap_are_one_alert():
    flagged = np.zeros(60, dtype=bool)
    flagged[[5, 16, 30, 31, 50]] = True  # 5 and 16 are 11 apart (merged), 16 and 30 are 14 apart (not)
    assert [a.tolist() for a in merge_flags(flagged, gap=12)] == [[5, 16], [30, 31], [50]]


def test_windows_found_alerts_true_and_probation_ignored():
    times = pd.date_range("2026-01-01", periods=100, freq="5min")
    flagged = np.zeros(100, dtype=bool)
    flagged[[3, 40, 41, 70, 95]] = True  # 3 is in probation (first 15 points)
    windows = [(times[0], times[5]), (times[38], times[45]), (times[80], times[90])]
    counts = score_windows(times, flagged, windows)
    # alerts: {40, 41} inside window 2, {70} false, {95} false; window 1 only had a probation flag
    assert counts == {
        "alerts": 3,
        "true_alerts": 1,
        "windows": 3,
        "found": 1,
        "days": (times[-1] - times[15]) / pd.Timedelta(days=1),
    }
    summary = summarise_windows([counts, {**counts, "true_alerts": 3, "found": 3}])
    assert summary["precision"] == round(4 / 6, 3) and summary["recall"] == round(4 / 6, 3)
    assert summary["false_alerts_per_series_day"] == round(2 / (2 * counts["days"]), 3)
