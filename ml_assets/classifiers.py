"""The estimators the churn trainer compares: a calibrated gradient-boosting model and two baselines.

Gradient boosting ranks well but its raw probabilities are not to be trusted as probabilities, so
`CalibratedBooster` learns a calibration map on out-of-fold predictions of its own training rows
(the rows a booster did not see while fitting) and applies it to a booster fitted on all of them.
The out-of-fold probabilities are kept: they choose the decision threshold without touching the
test set.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ml_assets.features import FeatureSpec

EPSILON = 1e-6


def booster_pipeline(
    spec: FeatureSpec,
    learning_rate: float,
    max_iter: int,
    max_depth: int | None,
    min_samples_leaf: int,
    l2_regularization: float,
    seed: int,
):
    """Histogram gradient boosting; it takes missing numbers as they are and categories natively."""
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan, max_categories=64
    )
    columns = ColumnTransformer(
        [("numeric", "passthrough", list(spec.numeric)), ("categorical", encoder, list(spec.categorical))]
    )
    is_categorical = [False] * len(spec.numeric) + [True] * len(spec.categorical)
    booster = HistGradientBoostingClassifier(
        learning_rate=learning_rate,
        max_iter=max_iter,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        l2_regularization=l2_regularization,
        categorical_features=is_categorical or None,
        early_stopping=False,
        random_state=seed,
    )
    return make_pipeline(columns, booster)


def logistic_pipeline(spec: FeatureSpec, seed: int):
    """The linear baseline: median-imputed, standardised numbers (plus missing flags) and one-hot categories."""
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categorical = OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False)
    columns = ColumnTransformer(
        [("numeric", numeric, list(spec.numeric)), ("categorical", categorical, list(spec.categorical))]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=2000, random_state=seed))


def majority_classifier():
    """The baseline that knows only the base rate: every row gets the share of positives in training."""
    return DummyClassifier(strategy="prior")


def folds_for(labels: np.ndarray, groups: np.ndarray | None, wanted: int, seed: int):
    """A stratified splitter (grouped when ids repeat, so no id sits on both sides), or None when a
    class has fewer than two rows."""
    smallest = int(np.bincount(labels.astype(int), minlength=2).min())
    if groups is not None and len(np.unique(groups)) < len(groups):
        smallest = min(smallest, len(np.unique(groups[labels == 1])), len(np.unique(groups[labels == 0])))
        count = min(wanted, smallest)
        return None if count < 2 else StratifiedGroupKFold(n_splits=count, shuffle=True, random_state=seed)
    count = min(wanted, smallest)
    return None if count < 2 else StratifiedKFold(n_splits=count, shuffle=True, random_state=seed)


class _Sigmoid:
    """Platt scaling on the log-odds of the raw probability (steady on a few hundred rows)."""

    def fit(self, raw: np.ndarray, labels: np.ndarray) -> _Sigmoid:
        self.model = LogisticRegression(C=1e4).fit(_logit(raw)[:, None], labels)
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(_logit(raw)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


class CalibratedBooster(ClassifierMixin, BaseEstimator):
    """A booster whose probabilities are calibrated on out-of-fold predictions of its training rows.

    `method` is "isotonic", "sigmoid" or "auto" (isotonic from `isotonic_min_rows` training rows on,
    since isotonic regression overfits small samples).
    """

    def __init__(
        self, booster=None, method: str = "auto", folds: int = 3, isotonic_min_rows: int = 1000, seed: int = 7
    ):
        self.booster = booster
        self.method = method
        self.folds = folds
        self.isotonic_min_rows = isotonic_min_rows
        self.seed = seed

    def fit(self, features, labels, groups=None):
        labels = np.asarray(labels, dtype=int)
        self.classes_ = np.array([0, 1])
        splitter = folds_for(labels, None if groups is None else np.asarray(groups), self.folds, self.seed)
        groups = groups if isinstance(splitter, StratifiedGroupKFold) else None
        self.method_ = (
            "none"
            if splitter is None
            else (
                self.method
                if self.method != "auto"
                else "isotonic"
                if len(labels) >= self.isotonic_min_rows
                else "sigmoid"
            )
        )
        raw_oof = np.zeros(len(labels))
        if splitter is not None:
            for train, held_out in splitter.split(features, labels, groups):
                model = clone(self.booster).fit(features.iloc[train], labels[train])
                raw_oof[held_out] = model.predict_proba(features.iloc[held_out])[:, 1]
        self.booster_ = clone(self.booster).fit(features, labels)
        if self.method_ == "isotonic":
            self.calibrator_ = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw_oof, labels)
        elif self.method_ == "sigmoid":
            self.calibrator_ = _Sigmoid().fit(raw_oof, labels)
        else:
            self.calibrator_ = None
        self.oof_probability_ = self._calibrate(raw_oof) if splitter is not None else None
        return self

    def raw_probability(self, features) -> np.ndarray:
        """The booster's own probability, before calibration (smooth, so it suits explanations)."""
        return self.booster_.predict_proba(features)[:, 1]

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return raw if self.calibrator_ is None else np.clip(self.calibrator_.predict(raw), 0.0, 1.0)

    def predict_proba(self, features) -> np.ndarray:
        positive = self._calibrate(self.raw_probability(features))
        return np.column_stack([1 - positive, positive])

    def predict(self, features) -> np.ndarray:
        return (self.predict_proba(features)[:, 1] >= 0.5).astype(int)
