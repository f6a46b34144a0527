"""The anomaly detector on the Numenta Anomaly Benchmark, beside the rolling z-score and the
published NAB detectors, scored at event level (`ml_assets.anomaly_eval.score_windows`).

NAB's files are not part of this repository: the benchmark reads a local copy whose folder is given
(`PULSEOPS_NAB_DIR` or the `nab_dir` argument) and holds `data/`, `labels/combined_windows.json`,
`config/thresholds.json` and, for the published detectors, `results/<detector>/`.

    git clone --depth 1 https://github.com/numenta/NAB /path/to/NAB
    PULSEOPS_NAB_DIR=/path/to/NAB make eval

Only the four DEVELOPMENT categories were looked at while the detector was built; the others are
held out and reported separately, as an independent check.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ml_assets.anomalies import DetectorParams, score_series
from ml_assets.anomaly_eval import score_windows, summarise_windows

DEVELOPMENT = ("artificialWithAnomaly", "realAdExchange", "realTraffic", "realTweets")
HELD_OUT = ("realAWSCloudwatch", "realKnownCause", "artificialNoAnomaly")
PUBLISHED = {
    "contextOSE": "contextOSE",
    "ARTime": "ARTime",
    "numenta": "Numenta HTM",
    "twitterADVec": "Twitter ADVec",
    "randomCutForest": "AWS Random Cut Forest",
}
HOW_TO_GET = (
    "NAB is not in this repository (its files are published under their own licence). Get a copy "
    "with `git clone --depth 1 https://github.com/numenta/NAB` and give its folder as "
    "PULSEOPS_NAB_DIR (`make eval`) or as the argument of `python -m pulseops_cli.nab_benchmark`."
)


def nab_dir(path: str | os.PathLike | None = None) -> Path | None:
    """The NAB copy to read: `path`, else PULSEOPS_NAB_DIR; None when neither holds NAB's data."""
    folder = path or os.environ.get("PULSEOPS_NAB_DIR")
    if not folder:
        return None
    folder = Path(folder)
    return folder if (folder / "labels" / "combined_windows.json").is_file() and (folder / "data").is_dir() else None


def series_of(folder: Path, categories: tuple[str, ...]) -> list[tuple[str, pd.DataFrame, list]]:
    """(NAB name, its timestamp/value frame, its label windows) for every file of the categories."""
    windows = json.loads((folder / "labels" / "combined_windows.json").read_text())
    found = []
    for category in categories:
        for path in sorted((folder / "data" / category).glob("*.csv")):
            name = f"{category}/{path.name}"
            found.append((name, pd.read_csv(path, parse_dates=["timestamp"]), windows.get(name, [])))
    return found


def rolling_zscore_flags(frame: pd.DataFrame, window: int = 30, threshold: float = 3.0) -> np.ndarray:
    """The textbook baseline point by point: |value - mean of the previous `window`| > `threshold` sd."""
    values = frame["value"].astype(float)
    previous = values.shift(1).rolling(window, min_periods=window)
    z = (values - previous.mean()) / previous.std().replace(0.0, np.nan)
    return (z.abs() > threshold).to_numpy()


def detector_counts(series: list, params: DetectorParams) -> list[dict]:
    counts = []
    for _, frame, windows in series:
        points = score_series(frame["timestamp"], frame["value"], params)
        counts.append(score_windows(points["time"], points["flagged"].to_numpy(), windows))
    return counts


def published_counts(folder: Path, series: list, detector: str) -> list[dict] | None:
    """A published detector replayed from its scores in `results/`, flagged at its standard threshold."""
    thresholds = json.loads((folder / "config" / "thresholds.json").read_text())
    if detector not in thresholds:
        return None
    threshold = thresholds[detector]["standard"]["threshold"]
    counts = []
    for name, _, windows in series:
        category, file = name.split("/")
        path = folder / "results" / detector / category / f"{detector}_{file}"
        if not path.is_file():
            return None
        scores = pd.read_csv(path, parse_dates=["timestamp"])
        counts.append(score_windows(scores["timestamp"], (scores["anomaly_score"] >= threshold).to_numpy(), windows))
    return counts


def evaluate_nab(
    path: str | os.PathLike | None = None,
    params: DetectorParams = DetectorParams(),
    categories: tuple[str, ...] = DEVELOPMENT,
    published: bool = True,
) -> dict | None:
    """Event-level figures of the detector, the rolling z-score and (when their results are in the
    copy) the published detectors on `categories`; None when no NAB copy is found."""
    folder = nab_dir(path)
    if folder is None:
        return None
    series = series_of(folder, categories)
    result = {
        "categories": list(categories),
        "series": len(series),
        "probation": 0.15,
        "merge_gap_points": 12,
        "detector": summarise_windows(detector_counts(series, params)),
        "rolling_zscore": summarise_windows(
            [score_windows(frame["timestamp"], rolling_zscore_flags(frame), w) for _, frame, w in series]
        ),
    }
    if published:
        for detector, label in PUBLISHED.items():
            counts = published_counts(folder, series, detector)
            if counts is not None:
                result.setdefault("published", {})[label] = summarise_windows(counts)
    return result


def sensitivity_curve(
    path: str | os.PathLike | None,
    params: DetectorParams,
    sensitivities: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0),
) -> list[dict]:
    """The detector's F1 and false alerts per series per day at each sensitivity."""
    folder = nab_dir(path)
    series = series_of(folder, DEVELOPMENT)
    return [
        {"sensitivity": s, **summarise_windows(detector_counts(series, replace(params, sensitivity=s)))}
        for s in sensitivities
    ]


def nab_report(path: str | os.PathLike | None = None, params: DetectorParams = DetectorParams()) -> dict | None:
    """What `make eval` reports: the development categories with every detector, the detector's
    sensitivity curve there, and the held-out categories as an independent check."""
    result = evaluate_nab(path, params)
    if result is None:
        print(HOW_TO_GET, flush=True)
        return None
    result["sensitivity"] = sensitivity_curve(path, params)
    result["held_out"] = evaluate_nab(path, params, HELD_OUT, published=False)
    return result


def main(argv: list[str] | None = None) -> int:
    """`python -m pulseops_cli.nab_benchmark [NAB_DIR]`: the NAB figures alone, as JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nab_dir", nargs="?", help="a NAB copy (default: PULSEOPS_NAB_DIR)")
    parser.add_argument("--sensitivity", type=float, default=1.0)
    args = parser.parse_args(argv)
    result = evaluate_nab(args.nab_dir, DetectorParams(sensitivity=args.sensitivity))
    if result is None:
        print(HOW_TO_GET)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
