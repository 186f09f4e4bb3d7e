"""Classification metrics from scikit-learn, in one stable JSON-ready shape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def classification_metrics(
    gold: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    macro_labels: Sequence[str] | None = None,
) -> dict:
    """Macro-F1 (primary), accuracy, per-class precision/recall/F1/support, confusion matrix.

    The macro average is over `macro_labels` (default: all `labels`); per-class figures are
    given for every label. The confusion matrix has gold labels as rows and predictions as
    columns, both in `labels` order.
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    labels = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    return {
        "n": len(gold),
        "macro_f1": float(
            f1_score(
                gold,
                predicted,
                labels=list(macro_labels or labels),
                average="macro",
                zero_division=0,
            )
        ),
        "accuracy": float(accuracy_score(gold, predicted)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(gold, predicted, labels=labels).tolist(),
        },
    }


def expected_calibration_error(
    probabilities: np.ndarray, gold_index: np.ndarray, bins: int = 10
) -> float:
    """ECE over equal-width confidence bins: how far confidence is from accuracy, on average."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == gold_index
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)
