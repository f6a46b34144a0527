"""Local explanations: which features moved one row's score, and by how much.

A feature's effect on a row is the model's probability for the row minus its probability with that
one feature set to a typical value (the training median for numbers, the most frequent level for
categories). A positive effect means the row's value raises the score above what a typical value
would give. It is model-agnostic, exact for the model at hand (no sampling) and costs one batch
prediction per feature; unlike additive attributions the effects need not sum to the score.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from ml_assets.features import FeatureSpec


def typical_values(features: pd.DataFrame, spec: FeatureSpec) -> dict:
    """The reference value of each feature: median for numbers, most frequent level for categories."""
    typical = {}
    for column in spec.numeric:
        median = features[column].median()
        typical[column] = None if pd.isna(median) else float(median)
    for column in spec.categorical:
        mode = features[column].mode()
        typical[column] = str(mode.iloc[0]) if len(mode) else None
    return typical


def feature_effects(
    predict: Callable[[pd.DataFrame], np.ndarray], features: pd.DataFrame, typical: dict
) -> pd.DataFrame:
    """One row per input row, one column per feature: the probability change the feature's value causes."""
    base = predict(features)
    effects = {}
    for column, value in typical.items():
        swapped = features.copy()
        swapped[column] = np.nan if value is None else value
        effects[column] = base - predict(swapped)
    return pd.DataFrame(effects, index=features.index)


def _plain(value):
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    return value


def top_drivers(
    effects: pd.DataFrame, features: pd.DataFrame, typical: dict, top: int = 3, min_effect: float = 0.005
) -> list[str]:
    """Per row, a JSON list of its `top` strongest drivers by absolute effect: feature, the row's
    value, the typical value and the signed effect (probability points, rounded)."""
    values = effects.to_numpy()
    names = list(effects.columns)
    result = []
    for i, row in enumerate(values):
        order = np.argsort(-np.abs(row), kind="stable")[:top]
        drivers = [
            {
                "feature": names[j],
                "value": _plain(features.iat[i, features.columns.get_loc(names[j])]),
                "typical": _plain(typical[names[j]]),
                "effect": round(float(row[j]), 4),
            }
            for j in order
            if abs(row[j]) >= min_effect
        ]
        result.append(json.dumps(drivers))
    return result
