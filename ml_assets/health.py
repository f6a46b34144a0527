"""Client health score: 0-100 from six weighted factors, every factor's contribution kept.

Formula. Each factor i reads one column x_i and maps it linearly onto 0..1 between the value that
counts as bad and the one that counts as good, clipped at both ends:

    s_i = clip((x_i - bad_i) / (good_i - bad_i), 0, 1)

(`good` may be below `bad`, as for days paid late). With A the factors the client has a value for
and w_i their weights,

    contribution_i = 100 * w_i * s_i / sum(w_j for j in A)
    health_score   = sum(contribution_i for i in A)

so contributions add up to the score, and a client missing one factor is scored on the others
rather than marked down for a gap in the data. Bands: healthy when the score is at least
`bands.healthy`, watch when at least `bands.watch`, otherwise at risk (unknown without any factor).

The six default factors, weights and bad/good points are in `health_weights.toml` beside this
module: CSAT, SLA compliance, ticket load trend, payment timeliness, renewal position and service
breadth. Another file with the same layout (any factor names and columns) can replace it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_CONFIG = Path(__file__).with_name("health_weights.toml")
BANDS = ("healthy", "watch", "at risk")


@dataclass(frozen=True)
class HealthFactor:
    name: str
    column: str
    weight: float
    bad: float
    good: float


@dataclass(frozen=True)
class HealthConfig:
    factors: tuple[HealthFactor, ...]
    healthy: float = 70.0
    watch: float = 45.0


def load_health_config(path: str | Path | None = None) -> HealthConfig:
    """Read factor weights and bands from a TOML file (the packaged defaults when `path` is None)."""
    raw = tomllib.loads(Path(path or DEFAULT_CONFIG).read_text())
    factors = tuple(
        HealthFactor(name, str(spec["column"]), float(spec["weight"]), float(spec["bad"]), float(spec["good"]))
        for name, spec in raw.get("factors", {}).items()
    )
    bands = raw.get("bands", {})
    config = HealthConfig(factors, float(bands.get("healthy", 70.0)), float(bands.get("watch", 45.0)))
    problems = [f"factor {f.name}: weight must be positive" for f in factors if f.weight <= 0]
    problems += [f"factor {f.name}: good and bad must differ" for f in factors if f.good == f.bad]
    if not factors:
        problems.append("no factors")
    if not 0 <= config.watch <= config.healthy <= 100:
        problems.append("bands need 0 <= watch <= healthy <= 100")
    if problems:
        raise ValueError(f"health config {path or DEFAULT_CONFIG}: " + "; ".join(problems))
    return config


def factor_score(values: pd.Series, factor: HealthFactor) -> pd.Series:
    """A factor's 0..1 score (NaN where the value is missing)."""
    x = pd.to_numeric(values, errors="coerce").astype("float64")
    return ((x - factor.bad) / (factor.good - factor.bad)).clip(0.0, 1.0)


def health_band(score: float, config: HealthConfig) -> str:
    if np.isnan(score):
        return "unknown"
    return BANDS[0] if score >= config.healthy else BANDS[1] if score >= config.watch else BANDS[2]


def health_scores(frame: pd.DataFrame, id_column: str, config: HealthConfig | None = None) -> pd.DataFrame:
    """One row per input row: the id, `health_score` (0-100), `health_band`, and per factor its
    0..1 score (`factor_<name>`) and its points of the score (`contribution_<name>`, NaN when the
    client has no value for it). Columns a factor names must exist, even if all empty."""
    config = config or load_health_config()
    missing = [f.column for f in config.factors if f.column not in frame.columns]
    if missing:
        raise ValueError(f"health score needs columns {missing}")
    scores = pd.DataFrame({f.name: factor_score(frame[f.column], f) for f in config.factors}, index=frame.index)
    weights = pd.Series({f.name: f.weight for f in config.factors})
    available_weight = scores.notna().mul(weights, axis=1).sum(axis=1).replace(0.0, np.nan)
    contributions = scores.mul(weights, axis=1).mul(100.0).div(available_weight, axis=0)
    total = contributions.sum(axis=1, min_count=1).round(1)
    result = pd.DataFrame({id_column: frame[id_column].to_numpy()}, index=frame.index)
    result["health_score"] = total
    result["health_band"] = [health_band(s, config) for s in total.to_numpy()]
    for f in config.factors:
        result[f"factor_{f.name}"] = scores[f.name].round(3)
        result[f"contribution_{f.name}"] = contributions[f.name].round(2)
    result["factors_available"] = scores.notna().sum(axis=1).astype(int)
    return result.reset_index(drop=True)
