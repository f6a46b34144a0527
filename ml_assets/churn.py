"""Churn scoring: gradient boosting over any feature table with an id and a label column.

Numeric and categorical features are found from the column types. Every client is scored by a
model that did not see it (out-of-fold), so the scores and the AUC reported with them are honest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


@dataclass(frozen=True)
class ChurnParams:
    learning_rate: float = 0.1
    max_iter: int = 200
    max_depth: int | None = 3
    folds: int = 5
    seed: int = 7


def split_features(frame: pd.DataFrame, id_column: str, label_column: str) -> tuple[list[str], list[str]]:
    candidates = frame.drop(columns=[id_column, label_column])
    numeric = [c for c in candidates if pd.api.types.is_numeric_dtype(candidates[c])
               and not pd.api.types.is_bool_dtype(candidates[c])]
    categorical = [c for c in candidates if c not in numeric]
    return numeric, categorical


def build_model(numeric: list[str], categorical: list[str], params: ChurnParams):
    features = ColumnTransformer([
        ("numeric", SimpleImputer(strategy="median"), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                      OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical),
    ])
    classifier = HistGradientBoostingClassifier(learning_rate=params.learning_rate, max_iter=params.max_iter,
                                                max_depth=params.max_depth, random_state=params.seed)
    return make_pipeline(features, classifier)


def score_churn(frame: pd.DataFrame, id_column: str, label_column: str,
                params: ChurnParams = ChurnParams()) -> tuple[pd.DataFrame, dict]:
    """Return (one row per id with its out-of-fold churn probability, evaluation metrics)."""
    labels = frame[label_column].astype(int).to_numpy()
    numeric, categorical = split_features(frame, id_column, label_column)
    features = frame[numeric + categorical].copy()
    for column in categorical:
        features[column] = features[column].astype("string").fillna("missing").astype(object)
    folds = min(params.folds, int(np.bincount(labels, minlength=2).min()))
    if folds < 2:
        raise ValueError(f"need at least two examples of each class in {label_column!r} to evaluate")
    model = build_model(numeric, categorical, params)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
    probability = cross_val_predict(model, features, labels, cv=splitter, method="predict_proba")[:, 1]
    scores = pd.DataFrame({id_column: frame[id_column].to_numpy(), "churn_probability": probability.round(4)})
    metrics = {
        "roc_auc": round(float(roc_auc_score(labels, probability)), 4),
        "rows": int(len(frame)),
        "positives": int(labels.sum()),
        "folds": folds,
        "numeric_features": numeric,
        "categorical_features": categorical,
    }
    return scores, metrics
