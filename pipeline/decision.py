"""The decision rule: from four probabilities to one label, tuned for the text users score.

In whole news articles 85-90% of passages take no stance, far more than in the training corpus.
Taking the most probable label (argmax) then calls a stance too often: every small shift of
probability away from `none` becomes a false stance passage in the user's tables. The rule used
here calls a stance only when the probability of *some* stance, `1 - p(none)`, reaches a
threshold, and then takes the most probable stance label. The threshold is chosen on dev so that
stance precision reaches a target *at the user's base rate*: dev `none` items are re-weighted to
the share of `none` passages expected in articles (`none_rate`), because dev itself holds far
fewer of them. It trades recall for precision, and says so in the model folder (`meta.json:
decision`), which `predict`, `score_articles` and `evaluate` all read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class DecisionRule:
    """Call a stance when 1 - p(none) >= threshold; argmax when threshold is None."""

    threshold: float | None = None
    target_precision: float | None = None
    none_rate: float | None = None
    dev_precision: float | None = None
    dev_recall: float | None = None

    @classmethod
    def from_meta(cls, meta: dict) -> DecisionRule:
        """The rule recorded in a model folder's meta.json; argmax for older folders."""
        data = meta.get("decision") or {}
        known = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**known)

    def as_dict(self) -> dict:
        return {**asdict(self), "rule": self.description()}

    def description(self) -> str:
        if self.threshold is None:
            return "argmax over the four labels"
        return (
            f"stance when 1 - p(none) >= {self.threshold:.3f}, then the most probable stance "
            "label; otherwise none"
        )

    def decide(self, probabilities: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """Label indices (into `labels`) for each probability row."""
        probabilities = np.asarray(probabilities)
        if self.threshold is None or "none" not in labels or len(probabilities) == 0:
            return probabilities.argmax(axis=1)
        none = list(labels).index("none")
        stance_scores = probabilities.copy()
        stance_scores[:, none] = -np.inf
        best_stance = stance_scores.argmax(axis=1)
        is_stance = 1.0 - probabilities[:, none] >= self.threshold
        return np.where(is_stance, best_stance, none)


def weighted_stance_precision_recall(
    stance_score: np.ndarray, is_stance: np.ndarray, threshold: float, none_weight: float
) -> tuple[float, float]:
    """Stance-vs-none precision and recall at a threshold, with `none` items weighted."""
    called = stance_score >= threshold
    true_calls = float(np.sum(called & is_stance))
    false_calls = float(np.sum(called & ~is_stance)) * none_weight
    precision = true_calls / (true_calls + false_calls) if true_calls + false_calls else 1.0
    recall = true_calls / max(float(np.sum(is_stance)), 1.0)
    return precision, recall


def choose_threshold(
    probabilities: np.ndarray,
    gold: Sequence[str],
    labels: Sequence[str],
    target_precision: float,
    none_rate: float,
    min_threshold: float = 0.0,
) -> DecisionRule:
    """The lowest threshold whose dev stance precision, at base rate `none_rate`, reaches the
    target (the lowest keeps the most recall). When no threshold reaches it, the one with the
    best weighted stance F1. Never below `min_threshold`: dev is drawn from our own corpus and
    overstates precision on real articles, so a threshold under 0.5 (a stance the model finds
    less likely than none) bought recall on dev and lost precision on every real-article set we
    measured (README: "The decision rule").
    """
    probabilities = np.asarray(probabilities)
    none = list(labels).index("none")
    stance_score = 1.0 - probabilities[:, none]
    is_stance = np.asarray([g != "none" for g in gold])
    n_stance, n_none = int(is_stance.sum()), int((~is_stance).sum())
    if n_stance == 0 or n_none == 0:
        return DecisionRule(None, target_precision, none_rate)
    # Weight that turns dev's none share into the share expected in articles.
    none_weight = (none_rate / (1 - none_rate)) / (n_none / n_stance)
    candidates = np.unique(np.concatenate([stance_score, [0.5, min_threshold]]))
    candidates = candidates[candidates >= min_threshold]
    best_f1, best = -1.0, None
    for threshold in candidates:
        precision, recall = weighted_stance_precision_recall(
            stance_score, is_stance, threshold, none_weight
        )
        if precision >= target_precision and recall > 0:
            return DecisionRule(
                float(threshold), target_precision, none_rate, round(precision, 4), round(recall, 4)
            )
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best_f1, best = f1, (float(threshold), precision, recall)
    threshold, precision, recall = best
    return DecisionRule(
        threshold, target_precision, none_rate, round(precision, 4), round(recall, 4)
    )


def decide_labels(model, probabilities: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Label indices by the model's own decision rule (argmax for models without one)."""
    rule = getattr(model, "decision", None)
    if rule is None:
        return np.asarray(probabilities).argmax(axis=1)
    return rule.decide(probabilities, labels)
