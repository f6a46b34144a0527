"""Churn: a generic trainer for any feature table with an id column and a binary label column.

`train_churn` finds numeric and categorical features by itself (see `ml_assets.features`), evaluates
a calibrated gradient-boosting model against a logistic regression and the majority class in the
same run, fits the model on every labelled row, and scores each id with its top drivers.

Evaluation is honest about time when the table has a snapshot-time column: the model is trained on
earlier snapshot periods and tested on the latest ones, the way it will be used. `gap_periods`
leaves periods out between the two, so that no training label looks into the test window (set it
to the label horizon: 3 for "cancels within 90 days" on monthly snapshots). Without a time column
the evaluation is stratified k-fold, grouped by id when ids repeat. Rows whose label is missing
(for instance snapshots too recent for the outcome to be known) are scored but never trained on.
The latest snapshot periods whose labels are only partly known are left out of training and
evaluation altogether: the labels known early are the outcomes that already happened (the clients
who already left), so keeping them would overstate the positives and flatter the test.

The default booster is deliberately small and regularised (trees of depth 2, learning rate 0.05,
L2 penalty, leaves of at least 5% of the rows): churn tables hold a few hundred clients and a few
dozen churners, where deeper, unpenalised trees memorise individual clients.

The model, its metrics and its parameters travel together as bytes (`ChurnModel.artefact`) for the
caller to version in an object store; nothing here writes files or opens connections.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from ml_assets.classifiers import (
    CalibratedBooster,
    booster_pipeline,
    folds_for,
    logistic_pipeline,
    majority_classifier,
)
from ml_assets.explain import feature_effects, top_drivers, typical_values
from ml_assets.features import FeatureSpec, feature_matrix, label_values, split_features, time_values
from ml_assets.metrics import best_f1_threshold, classification_metrics


@dataclass(frozen=True)
class ChurnParams:
    """Hyperparameters of the churn trainer and of its evaluation."""

    learning_rate: float = 0.05
    max_iter: int = 200  # boosting iterations
    max_depth: int | None = 2  # depth 2: pairs of features can interact, nothing deeper to memorise
    folds: int = 5  # k-fold evaluation when there is no time column
    seed: int = 7
    min_samples_leaf: int | None = None  # None: 5% of the training rows, kept within 5..20
    l2_regularization: float = 1.0
    calibration: str = "auto"  # isotonic, sigmoid, or auto (isotonic from 1000 training rows)
    calibration_folds: int = 3
    test_periods: int | None = None  # latest snapshot periods tested on; None: a quarter of them
    gap_periods: int = 0  # snapshot periods dropped between training and test
    top_drivers: int = 3
    calibration_bins: int = 10
    # Before a model is trained at all: ids that churned, and ids that stayed, among the labelled
    # rows. Below ten churners the held-out months hold one or two of them, and no metric (nor
    # the calibration) can be told apart from luck.
    min_churned_ids: int = 10
    min_stayed_ids: int = 10
    # OpenMP threads for boosting. Feature tables are small, and on a shared machine waiting
    # threads cost far more than they save (a 2,000-row fit: 0.1 s on one thread, up to 5 s on two).
    threads: int = 1


def _booster(spec: FeatureSpec, params: ChurnParams, rows: int) -> CalibratedBooster:
    # A fixed leaf size of 20 leaves a tree nothing to split on a table of a hundred clients.
    leaf = params.min_samples_leaf or int(np.clip(rows // 20, 5, 20))
    pipeline = booster_pipeline(
        spec, params.learning_rate, params.max_iter, params.max_depth, leaf, params.l2_regularization, params.seed
    )
    return CalibratedBooster(pipeline, params.calibration, params.calibration_folds, seed=params.seed)


def _fit_booster(spec, params, features, labels, groups) -> tuple[CalibratedBooster, float]:
    model = _booster(spec, params, len(labels)).fit(features, labels, groups)
    oof = model.oof_probability_
    return model, 0.5 if oof is None else best_f1_threshold(labels, oof)


def _fit_logistic(spec, params, features, labels, groups):
    model = logistic_pipeline(spec, params.seed)
    splitter = folds_for(labels, groups, params.calibration_folds, params.seed)
    threshold = 0.5
    if splitter is not None:
        oof = cross_val_predict(
            clone(model),
            features,
            labels,
            cv=splitter,
            method="predict_proba",
            groups=groups if isinstance(splitter, StratifiedGroupKFold) else None,
        )
        threshold = best_f1_threshold(labels, oof[:, 1])
    return model.fit(features, labels), threshold


def _fit_all(spec, params, features, labels, groups) -> dict:
    """name -> (fitted model, decision threshold chosen on training rows only)."""
    return {
        "model": _fit_booster(spec, params, features, labels, groups),
        "logistic_regression": _fit_logistic(spec, params, features, labels, groups),
        "majority_class": (majority_classifier().fit(features, labels), 0.5),
    }


def _period_text(value):
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        return str(pd.Timestamp(value).date())
    return value.item() if isinstance(value, np.generic) else value


def _time_split(times: pd.Series, params: ChurnParams) -> tuple[np.ndarray, np.ndarray, dict] | None:
    periods = np.sort(times.dropna().unique())
    test_count = params.test_periods or max(1, round(len(periods) / 4))
    train_periods = periods[: max(0, len(periods) - test_count - params.gap_periods)]
    if len(periods) < 2 or len(train_periods) == 0:
        return None
    test_periods = periods[-test_count:]
    info = {
        "train_periods": [_period_text(train_periods[0]), _period_text(train_periods[-1])],
        "test_periods": [_period_text(test_periods[0]), _period_text(test_periods[-1])],
        "gap_periods": params.gap_periods,
    }
    return times.isin(train_periods).to_numpy(), times.isin(test_periods).to_numpy(), info


def _time_evaluation(features, labels, groups, split, spec, params):
    train, test, info = split
    if len(np.unique(labels[train])) < 2:
        raise ValueError("the training periods hold a single class; use fewer test periods or a smaller gap")
    fitted = _fit_all(spec, params, features[train], labels[train], groups[train])
    probability = {name: model.predict_proba(features[test])[:, 1] for name, (model, _) in fitted.items()}
    thresholds = {name: np.full(test.sum(), threshold) for name, (_, threshold) in fitted.items()}
    return test, probability, thresholds, {"evaluation": "time_split", **info, "train_rows": int(train.sum())}


def _kfold_evaluation(features, labels, groups, spec, params):
    splitter = folds_for(labels, groups, params.folds, params.seed)
    if splitter is None:
        raise ValueError("need at least two examples of each class in the label column to evaluate")
    names = ("model", "logistic_regression", "majority_class")
    probability = {name: np.zeros(len(labels)) for name in names}
    thresholds = {name: np.zeros(len(labels)) for name in names}
    split_groups = groups if isinstance(splitter, StratifiedGroupKFold) else None
    for train, test in splitter.split(features, labels, split_groups):
        fitted = _fit_all(spec, params, features.iloc[train], labels[train], groups[train])
        for name, (model, threshold) in fitted.items():
            probability[name][test] = model.predict_proba(features.iloc[test])[:, 1]
            thresholds[name][test] = threshold
    kind = "stratified_kfold" if split_groups is None else "stratified_group_kfold"
    return (
        np.ones(len(labels), dtype=bool),
        probability,
        thresholds,
        {"evaluation": kind, "folds": int(splitter.get_n_splits())},
    )


def _evaluate(
    features: pd.DataFrame,
    labels: np.ndarray,
    groups: np.ndarray,
    times: pd.Series | None,
    spec: FeatureSpec,
    params: ChurnParams,
) -> tuple[dict, np.ndarray | None]:
    """(metrics of the model and its baselines on held-out rows, out-of-fold model probabilities
    when the evaluation was k-fold, else None). Each model's decision threshold is the one that
    maximised F1 on out-of-fold predictions of its own training rows, never on test rows."""
    split = _time_split(times, params) if times is not None else None
    if split is not None and len(np.unique(labels[split[0]])) < 2:
        # Every churner left in the latest months: the past alone cannot be trained on, so the
        # evaluation falls back to folds grouped by id (the metrics name which one was used).
        split = None
    if split is not None:
        held_out, probability, thresholds, info = _time_evaluation(features, labels, groups, split, spec, params)
    else:
        held_out, probability, thresholds, info = _kfold_evaluation(features, labels, groups, spec, params)
    scored = {
        name: classification_metrics(labels[held_out], probability[name], thresholds[name], params.calibration_bins)
        for name in probability
    }
    metrics = {
        **info,
        "test_rows": int(held_out.sum()),
        "test_positives": int(labels[held_out].sum()),
        **scored["model"],
        "baselines": {"logistic_regression": scored["logistic_regression"], "majority_class": scored["majority_class"]},
    }
    return metrics, (probability["model"] if split is None else None)


@dataclass(frozen=True)
class Readiness:
    """Whether a feature table can train a churn model, and in words why not."""

    ready: bool
    reason: str
    churned_ids: int
    stayed_ids: int
    labelled_rows: int


def churn_readiness(
    frame: pd.DataFrame,
    id_column: str,
    label_column: str,
    time_column: str | None = None,
    params: ChurnParams = ChurnParams(),
    exclude: tuple[str, ...] = (),
) -> Readiness:
    """Decide from the table alone whether `train_churn` can learn from it: enough ids with a
    labelled row where they churned (`min_churned_ids`) and ids with one where they stayed
    (`min_stayed_ids`; a churner's earlier months count), on the rows training would use. The
    reason is a sentence for the people who see the scores."""
    # A portfolio too small or too young for any column to vary (one client, one month) has no
    # features yet: said after what its labels lack, which is what it needs first.
    table = _read_table(frame, id_column, label_column, time_column, exclude, require_features=False)
    churned = len(np.unique(table.groups[table.labels == 1]))
    stayed = len(np.unique(table.groups[table.labels == 0])) if len(table.labels) else 0
    rows = int(table.labelled.sum())
    if rows == 0:
        reason = "no churn outcomes known yet: no snapshot is old enough for its outcome to have played out"
    elif churned < params.min_churned_ids:
        reason = (
            f"not enough churn history yet: {churned} churned client{'s' if churned != 1 else ''}, "
            f"need {params.min_churned_ids}"
        )
    elif stayed < params.min_stayed_ids:
        reason = f"not enough history of clients staying yet: {stayed} clients, need {params.min_stayed_ids}"
    elif not table.spec.columns:
        reason = f"nothing to learn from yet: {no_features_message(table.spec)}"
    else:
        clients = len(np.unique(table.groups))
        reason = f"trained on {rows} labelled snapshots of {clients} clients, {churned} of whom churned"
    enough_history = rows > 0 and churned >= params.min_churned_ids and stayed >= params.min_stayed_ids
    ready = enough_history and bool(table.spec.columns)
    return Readiness(ready, reason, churned, stayed, rows)


@dataclass
class ChurnModel:
    """A fitted churn model with everything needed to score new rows and to explain the scores."""

    estimator: CalibratedBooster
    spec: FeatureSpec
    typical: dict
    id_column: str
    label_column: str
    time_column: str | None
    params: ChurnParams
    threshold: float
    metrics: dict = field(default_factory=dict)
    trained_at: str = ""

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability of each row (columns it never saw are ignored, missing ones are NaN)."""
        return self.estimator.predict_proba(feature_matrix(frame, self.spec))[:, 1]

    def explain(self, frame: pd.DataFrame, top: int | None = None) -> list[str]:
        """Each row's top drivers as a JSON list (see `ml_assets.explain`), on the uncalibrated
        booster because isotonic calibration is flat in places and would hide real effects."""
        features = feature_matrix(frame, self.spec)
        effects = feature_effects(self.estimator.raw_probability, features, self.typical)
        return top_drivers(effects, features, self.typical, top or self.params.top_drivers)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> ChurnModel:
        """Load a model from `to_bytes` output (pickle: only ever load artefacts this platform wrote)."""
        model = pickle.loads(data)
        if not isinstance(model, ChurnModel):
            raise TypeError(f"not a churn model: {type(model).__name__}")
        return model

    def artefact(self) -> tuple[bytes, dict]:
        """(the model as bytes, JSON-ready metadata: version = first 12 hex digits of its SHA-256,
        training time, parameters, features, metrics)."""
        data = self.to_bytes()
        digest = hashlib.sha256(data).hexdigest()
        return data, {
            "version": digest[:12],
            "sha256": digest,
            "bytes": len(data),
            "trained_at": self.trained_at,
            "id_column": self.id_column,
            "label_column": self.label_column,
            "time_column": self.time_column,
            "threshold": round(self.threshold, 4),
            "params": asdict(self.params),
            "metrics": self.metrics,
        }


@dataclass
class ChurnRun:
    """What one training run gives: a score per id, the evaluation metrics and the fitted model."""

    scores: pd.DataFrame
    metrics: dict
    model: ChurnModel


@dataclass
class _Table:
    spec: FeatureSpec
    features: pd.DataFrame  # labelled rows only, from here on
    labels: np.ndarray
    groups: np.ndarray
    times: pd.Series | None
    labelled: np.ndarray  # mask over the whole frame
    partial_period_rows: int = 0  # labelled rows left out: their period's labels are only partly known


def _partly_labelled_tail(times: pd.Series, known: pd.Series) -> np.ndarray:
    """Rows of the periods after the last period whose every label is known (none when no period is
    complete: then there is nothing better to go on)."""
    complete = known.groupby(times.to_numpy()).all()
    if not complete.any():
        return np.zeros(len(times), dtype=bool)
    return (times > complete[complete].index.max()).to_numpy()


def no_features_message(spec) -> str:
    reasons = "; ".join(f"{column}: {why}" for column, why in spec.reasons) or "it has no other columns"
    return f"the table has no feature columns besides the id, label and time columns ({reasons})"


def _read_table(
    frame: pd.DataFrame,
    id_column: str,
    label_column: str,
    time_column: str | None,
    exclude: tuple[str, ...],
    require_features: bool = True,
) -> _Table:
    for column in (id_column, label_column, *([time_column] if time_column else [])):
        if column not in frame.columns:
            raise ValueError(f"column {column!r} is not in the table (columns: {', '.join(map(str, frame.columns))})")
    spec = split_features(frame, id_column, label_column, time_column, tuple(exclude))
    if require_features and not spec.columns:
        raise ValueError(no_features_message(spec))
    labels = label_values(frame[label_column])
    labelled = labels.notna().to_numpy()
    partial = (
        _partly_labelled_tail(time_values(frame[time_column]), labels.notna()) & labelled
        if time_column
        else np.zeros(len(frame), dtype=bool)
    )
    labelled = labelled & ~partial
    times = time_values(frame[time_column])[labelled] if time_column else None
    return _Table(
        spec,
        feature_matrix(frame, spec)[labelled],
        labels[labelled].astype(int).to_numpy(),
        frame[id_column].astype(str).to_numpy()[labelled],
        times,
        labelled,
        int(partial.sum()),
    )


def _describe(frame: pd.DataFrame, table: _Table, params: ChurnParams) -> dict:
    return {
        "rows": int(len(frame)),
        "labelled_rows": int(table.labelled.sum()),
        "partial_period_rows_left_out": table.partial_period_rows,
        "positives": int(table.labels.sum()),
        "numeric_features": list(table.spec.numeric),
        "categorical_features": list(table.spec.categorical),
        "numeric_text_features": list(table.spec.numeric_text),
        "ignored_columns": table.spec.ignored_with_reasons(),
        "params": asdict(params),
    }


def _rows_to_score(frame: pd.DataFrame, id_column: str, time_column: str | None) -> np.ndarray:
    if time_column is None:
        return np.ones(len(frame), dtype=bool)
    times = time_values(frame[time_column])
    latest = times.groupby(frame[id_column].to_numpy()).transform("max")
    return (times == latest).to_numpy()


def evaluate_churn(
    frame: pd.DataFrame,
    id_column: str,
    label_column: str,
    time_column: str | None = None,
    params: ChurnParams = ChurnParams(),
    exclude: tuple[str, ...] = (),
) -> dict:
    """The evaluation of `train_churn` alone (model and baselines on held-out rows), JSON-ready."""
    table = _read_table(frame, id_column, label_column, time_column, exclude)
    with threadpool_limits(params.threads):
        metrics, _ = _evaluate(table.features, table.labels, table.groups, table.times, table.spec, params)
    return {**metrics, **_describe(frame, table, params)}


def train_churn(
    frame: pd.DataFrame,
    id_column: str,
    label_column: str,
    time_column: str | None = None,
    params: ChurnParams = ChurnParams(),
    exclude: tuple[str, ...] = (),
) -> ChurnRun:
    """Evaluate, fit on every labelled row and score. `scores` holds one row per id (its latest
    snapshot when there is a time column) with `churn_probability`, `churn_predicted` (at the
    threshold that maximised F1 on out-of-fold training rows), `drivers` (JSON) and
    `model_version`. Without a time column the labelled rows carry their out-of-fold probability,
    so no id is scored by a model that saw its label. `exclude` names columns that must not be
    features (for instance anything recorded after the snapshot)."""
    table = _read_table(frame, id_column, label_column, time_column, exclude)
    with threadpool_limits(params.threads):
        metrics, oof = _evaluate(table.features, table.labels, table.groups, table.times, table.spec, params)
        estimator, threshold = _fit_booster(table.spec, params, table.features, table.labels, table.groups)
    metrics.update(
        {
            **_describe(frame, table, params),
            "ids": int(frame[id_column].nunique()),
            "calibration_method": estimator.method_,
            "threshold_in_use": round(threshold, 4),
        }
    )
    model = ChurnModel(
        estimator,
        table.spec,
        typical_values(table.features, table.spec),
        id_column,
        label_column,
        time_column,
        params,
        threshold,
        metrics,
        datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    _, metadata = model.artefact()

    chosen = _rows_to_score(frame, id_column, time_column)
    with threadpool_limits(params.threads):
        probability = model.predict(frame.loc[chosen])
        drivers = model.explain(frame.loc[chosen])
    # Without a time column every row is scored, so labelled rows take their out-of-fold score.
    # With one, a short history may still be evaluated by k-fold, but only the latest rows are
    # scored and those are not the rows the folds held out.
    if oof is not None and time_column is None:
        probability[table.labelled] = oof
    scores = frame.loc[chosen, [id_column] + ([time_column] if time_column else [])].copy()
    scores["churn_probability"] = probability.round(4)
    scores["churn_predicted"] = scores["churn_probability"] >= threshold
    scores["drivers"] = drivers
    scores["model_version"] = metadata["version"]
    return ChurnRun(scores.reset_index(drop=True), metrics, model)


def score_churn(
    frame: pd.DataFrame,
    id_column: str,
    label_column: str,
    params: ChurnParams = ChurnParams(),
    time_column: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """(scores, metrics) of `train_churn`, for callers that do not keep the model."""
    run = train_churn(frame, id_column, label_column, time_column, params)
    return run.scores, run.metrics


def no_scores(id_column: str) -> pd.DataFrame:
    """The scores table of `train_churn` with no rows, each column typed: what is written while
    the model cannot be trained, so readers of the table find it and find it empty."""
    return pd.DataFrame(
        {
            id_column: pd.Series(dtype=object),
            "churn_probability": pd.Series(dtype=float),
            "churn_predicted": pd.Series(dtype=bool),
            "drivers": pd.Series(dtype=object),
            "model_version": pd.Series(dtype=object),
        }
    )
