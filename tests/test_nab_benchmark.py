"""The NAB benchmark harness: on a hand-made copy laid out as NAB's (always), and on a real NAB copy
when PULSEOPS_NAB_DIR names one (skipped otherwise: NAB is not part of this repository)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from pulseops_cli.nab_benchmark import HOW_TO_GET, evaluate_nab, nab_dir

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it


@pytest.fixture
def tiny_nab(tmp_path):
    """One category with one 5-minute series: a spike at point 3000 inside the only window."""
    times = pd.date_range("2026-01-01", periods=4032, freq="5min")
    values = 10 + np.random.default_rng(1).normal(0, 0.5, len(times))
    values[3000] = 40
    (tmp_path / "data" / "realTraffic").mkdir(parents=True)
    pd.DataFrame({"timestamp": times, "value": values}).to_csv(tmp_path / "data/realTraffic/x.csv", index=False)
    window = [str(times[2950]), str(times[3050])]
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels/combined_windows.json").write_text(json.dumps({"realTraffic/x.csv": [window]}))
    (tmp_path / "config").mkdir()
    (tmp_path / "config/thresholds.json").write_text(json.dumps({"numenta": {"standard": {"threshold": 0.5}}}))
    (tmp_path / "results/numenta/realTraffic").mkdir(parents=True)
    score = np.zeros(len(times))
    score[[1000, 3001]] = 0.9  # one false alert, one in the window
    pd.DataFrame({"timestamp": times, "value": values, "anomaly_score": score}).to_csv(
        tmp_path / "results/numenta/realTraffic/numenta_x.csv", index=False
    )
    return tmp_path


def test_a_copy_laid_out_as_nab_is_scored_for_every_detector(tiny_nab):
    result = evaluate_nab(tiny_nab, categories=("realTraffic",))
    assert result["detector"]["found"] == 1 and result["detector"]["true_alerts"] == 1
    assert result["published"]["Numenta HTM"] == {
        "f1": round(2 * 0.5 / 1.5, 3),
        "precision": 0.5,
        "recall": 1.0,
        "false_alerts_per_series_day": round(1 / ((4031 - 604) * 5 / 1440), 3),
        "alerts": 2,
        "true_alerts": 1,
        "windows": 1,
        "found": 1,
        "series": 1,
    }
    assert set(result["published"]) == {"Numenta HTM"}  # detectors without results are left out


def test_without_a_copy_it_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.delenv("PULSEOPS_NAB_DIR", raising=False)
    assert nab_dir() is None and nab_dir(tmp_path) is None and evaluate_nab() is None
    assert "git clone" in HOW_TO_GET and "PULSEOPS_NAB_DIR" in HOW_TO_GET


@pytest.mark.skipif(nab_dir() is None, reason="no NAB copy: set PULSEOPS_NAB_DIR to a clone of numenta/NAB")
def test_on_nab_the_published_figures_replay_and_the_detector_beats_the_z_score():
    result = evaluate_nab(os.environ["PULSEOPS_NAB_DIR"])
    published = {name: figures["f1"] for name, figures in result["published"].items()}
    assert published["contextOSE"] == 0.705 and published["Numenta HTM"] == 0.572  # as NAB's results give
    assert result["detector"]["f1"] > result["rolling_zscore"]["f1"] + 0.2
    assert result["detector"]["false_alerts_per_series_day"] <= 0.15
