"""Metrics for a binary classifier's probabilities, chosen for rare positives.

Accuracy alone flatters a model when most rows are negative, so every evaluation reports ranking
quality (ROC AUC, PR AUC, precision in the top decile), the quality of the probabilities themselves
(Brier score, a calibration table and its expected calibration error) and the decision at the
threshold in use (accuracy, precision, recall, F1), with accuracy and F1 at 0.5 and at the threshold
of the best F1 beside it.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def calibration_table(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-width probability bins: how many rows fell in each, the mean predicted probability and
    the observed rate of positives (empty bins are left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            table.append(
                {
                    "bin_lower": _round(edges[b], 3),
                    "bin_upper": _round(edges[b + 1], 3),
                    "rows": int(inside.sum()),
                    "mean_predicted": _round(probability[inside].mean()),
                    "observed_rate": _round(labels[inside].mean()),
                }
            )
    return table


def expected_calibration_error(table: list[dict]) -> float:
    """Row-weighted mean gap between predicted and observed rates over the calibration bins."""
    rows = sum(b["rows"] for b in table)
    return sum(b["rows"] * abs(b["mean_predicted"] - b["observed_rate"]) for b in table) / max(rows, 1)


def top_fraction_precision(labels: np.ndarray, probability: np.ndarray, fraction: float = 0.1) -> float:
    """Share of positives among the highest-scored `fraction` of rows (at least one row); ties
    are broken by position so a constant score gets the base rate, not a lucky order."""
    count = max(1, int(np.ceil(fraction * len(labels))))
    order = np.argsort(-probability, kind="stable")
    return float(labels[order[:count]].mean())


def best_f1_threshold(labels: np.ndarray, probability: np.ndarray) -> float:
    """The probability threshold with the highest F1 on these rows (0.5 when there is no positive)."""
    if labels.sum() == 0 or labels.sum() == len(labels):
        return 0.5
    precision, recall, thresholds = precision_recall_curve(labels, probability)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def classification_metrics(
    labels: np.ndarray, probability: np.ndarray, threshold: float | np.ndarray = 0.5, bins: int = 10
) -> dict:
    """Every metric of one model's probabilities on one test set, JSON-ready. `threshold` may be
    one per row (k-fold rows each carry their fold's threshold; the mean is reported). AUCs are
    None when the test set holds a single class (there is nothing to rank)."""
    labels = np.asarray(labels, dtype=int)
    probability = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    both_classes = 0 < labels.sum() < len(labels)
    predicted = (probability >= threshold).astype(int)
    table = calibration_table(labels, probability, bins)
    best = best_f1_threshold(labels, probability) if both_classes else None
    return {
        "roc_auc": _round(roc_auc_score(labels, probability)) if both_classes else None,
        "pr_auc": _round(average_precision_score(labels, probability)) if both_classes else None,
        "accuracy": _round(accuracy_score(labels, predicted)),
        # Beside the threshold in use (chosen on training rows): the usual cut at 0.5, and the cut
        # that would have given the best F1 on these very rows (in hindsight, so optimistic).
        "accuracy_at_0_5": _round(accuracy_score(labels, (probability >= 0.5).astype(int))),
        "f1_at_0_5": _round(f1_score(labels, (probability >= 0.5).astype(int), zero_division=0)),
        "best_f1_threshold": _round(best) if best is not None else None,
        "accuracy_at_best_f1": _round(accuracy_score(labels, probability >= best)) if best is not None else None,
        "f1_at_best_f1": _round(f1_score(labels, probability >= best, zero_division=0)) if best is not None else None,
        "precision": _round(precision_score(labels, predicted, zero_division=0)),
        "recall": _round(recall_score(labels, predicted, zero_division=0)),
        "f1": _round(f1_score(labels, predicted, zero_division=0)),
        "brier": _round(brier_score_loss(labels, probability, pos_label=1)),
        "top_decile_precision": _round(top_fraction_precision(labels, probability, 0.1)),
        "base_rate": _round(labels.mean()),
        "threshold": _round(np.mean(threshold)),
        "expected_calibration_error": _round(expected_calibration_error(table)),
        "calibration": table,
    }
