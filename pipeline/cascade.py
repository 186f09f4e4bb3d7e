"""A cascade: a small screening model in front of the large model, to score fast on CPU.

In whole news articles 85-90% of passages take no stance. A small model (all-MiniLM-L6-v2, about
7x cheaper than all-mpnet-base-v2) scores every passage; only passages whose stance probability
`1 - p(none)` reaches the *screen threshold* are scored again by the large model, whose
probabilities and decision rule then give the label. The threshold is chosen on the large
model's own dev split so that the screen passes at least `target_recall` (default 99%) of the
gold stance passages, and it is never above the large model's own stance threshold, so a passage
the screen stops is one the large model's rule would also need strong evidence to call.

The cascade lives in the large model's folder and travels with it: `screen/` holds a copy of the
small model folder and `meta.json: cascade` records the threshold, the dev figures and the
screen's hash. `load_classifier` is what predict, evaluate and the Ray engine call; it returns
the cascade when the folder has one, the plain classifier otherwise. Passages the screen stops
keep the screen's probabilities (their `p_*` columns come from the small model).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.errors import ModelFolderError, PipelineError

SCREEN_DIR = "screen"


def screen_scores(probabilities: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Stance probability `1 - p(none)` of each row."""
    return 1.0 - np.asarray(probabilities)[:, list(labels).index("none")]


def choose_screen_threshold(
    stance_score: np.ndarray, is_stance: np.ndarray, target_recall: float, ceiling: float
) -> float:
    """The highest threshold that keeps `target_recall` of the stance items, capped at
    `ceiling` (the large model's own stance threshold: the screen must never be stricter)."""
    scores = np.sort(np.asarray(stance_score)[np.asarray(is_stance, dtype=bool)])
    if len(scores) == 0:
        raise PipelineError("the dev split has no stance statements to choose a screen threshold")
    may_lose = int(np.floor((1.0 - target_recall) * len(scores) + 1e-9))  # 0.2 * 5 is 0.999...
    return float(min(scores[may_lose], ceiling))


class CascadeClassifier:
    """Scores like `StanceClassifier` (same labels, decision rule, context), screening first.

    Attributes beyond the large model's: `screen` (the small classifier), `threshold`, and
    `last_pass_rate` (the share of passages of the latest call that reached the large model).
    """

    def __init__(self, large, screen, threshold: float):
        if sorted(screen.labels) != sorted(large.labels):
            raise ModelFolderError(
                f"screen labels {screen.labels} differ from the model's {large.labels}"
            )
        if screen.context not in ("none", large.context):
            raise ModelFolderError(
                f"the screen reads context {screen.context!r} but the model reads "
                f"{large.context!r}; train the screen with context none or the same context"
            )
        self.large, self.screen, self.threshold = large, screen, threshold
        self.labels = large.labels
        self.decision = large.decision
        self.context = large.context
        self.meta = large.meta
        self.device = large.device
        self.backend = large.backend
        self.onnx_graph = large.onnx_graph
        self.folder = large.folder
        self._to_large = np.asarray([screen.labels.index(label) for label in large.labels])
        self.last_pass_rate: float | None = None
        self.passages_screened = 0
        self.passages_rescored = 0

    def predict_proba(self, texts, contexts: Sequence[str] | None = None) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        probabilities = self.screen.predict_proba(texts, contexts)[:, self._to_large]
        passes = np.flatnonzero(screen_scores(probabilities, self.labels) >= self.threshold)
        if len(passes):
            probabilities[passes] = self.large.predict_proba(
                [texts[i] for i in passes],
                None if contexts is None else [contexts[i] for i in passes],
            )
        self.last_pass_rate = len(passes) / len(texts)
        self.passages_screened += len(texts)
        self.passages_rescored += len(passes)
        return probabilities

    def predict_labels_from(self, probabilities: np.ndarray) -> list[str]:
        return self.large.predict_labels_from(probabilities)

    def predict(self, texts, contexts: Sequence[str] | None = None) -> list[str]:
        return self.predict_labels_from(self.predict_proba(texts, contexts))

    def describe(self) -> dict:
        """What the manifest and metrics record about the cascade."""
        return {
            **self.meta.get("cascade", {}),
            "screen_onnx_graph": self.screen.onnx_graph,
            "passages_screened": self.passages_screened,
            "passages_rescored": self.passages_rescored,
        }


def load_classifier(path: str | Path, cascade: bool = True, **kwargs):
    """The classifier a model folder describes: its cascade when it has one (and `cascade`),
    else the plain `StanceClassifier`. Keyword arguments go to `StanceClassifier.load` for both
    models (device, backend, tokens_per_batch)."""
    from pipeline.classifier import StanceClassifier
    from pipeline.parties import load_party_attribution

    large = StanceClassifier.load(path, **kwargs)
    large.parties = load_party_attribution(path)
    record = large.meta.get("cascade")
    if not cascade or not record:
        return large
    screen_folder = Path(path) / SCREEN_DIR
    if not screen_folder.is_dir():
        raise ModelFolderError(
            f"{path}: meta.json records a cascade but {SCREEN_DIR}/ is missing; "
            "rebuild it with `stance cascade` or remove `cascade` from meta.json"
        )
    from pipeline.onnx_backend import ONNX_DIR
    from pipeline.provenance import hash_folder

    if hash_folder(screen_folder, exclude=(ONNX_DIR,)) != record.get("screen_hash"):
        raise ModelFolderError(
            f"{screen_folder}: contents differ from the hash recorded in meta.json: cascade "
            "(changed after `stance cascade`); rebuild the cascade"
        )
    screen = StanceClassifier.load(screen_folder, **kwargs)
    scorer = CascadeClassifier(large, screen, float(record["threshold"]))
    scorer.parties = large.parties
    return scorer


def build_cascade(
    model_dir: str | Path,
    screen_dir: str | Path,
    target_recall: float = 0.99,
    data_paths: Sequence[str] | None = None,
) -> dict:
    """Attach `screen_dir` as the screening model of `model_dir`; return the cascade record.

    The threshold is chosen on the large model's dev split (rebuilt from its `config.yaml`,
    the same seed and split as training). The screen is copied into `model_dir/screen/`, and
    `meta.json` is rewritten atomically; a rebuild replaces an earlier cascade.
    """
    from pipeline.classifier import StanceClassifier, check_model_folder
    from pipeline.config import load_config
    from pipeline.context import statement_contexts
    from pipeline.onnx_backend import ONNX_DIR
    from pipeline.outputs import atomic_folder, write_json
    from pipeline.provenance import hash_folder
    from pipeline.splits import split_for_config

    model_dir, screen_dir = check_model_folder(model_dir), check_model_folder(screen_dir)
    if not 0.5 <= target_recall < 1.0:
        raise PipelineError(f"target recall must be in [0.5, 1), got {target_recall}")
    if model_dir.resolve() == screen_dir.resolve() or model_dir.resolve() in (
        screen_dir.resolve().parents
    ):
        raise PipelineError("the screen must be another model folder, outside the model's own")
    config = load_config(model_dir / "config.yaml")
    if data_paths:
        config.data.paths = list(data_paths)
    _, split = split_for_config(config)
    large = StanceClassifier.load(model_dir, device="cpu", backend="torch")
    screen = StanceClassifier.load(screen_dir, device="cpu", backend="torch")
    cascade = CascadeClassifier(large, screen, 0.0)  # checks labels and context
    contexts = statement_contexts(split.dev, large.context)
    texts = [s.text for s in split.dev]
    screen_probs = screen.predict_proba(texts, contexts)[:, cascade._to_large]
    is_stance = np.asarray([s.label != "none" for s in split.dev])
    ceiling = large.decision.threshold if large.decision.threshold is not None else 0.5
    threshold = choose_screen_threshold(
        screen_scores(screen_probs, large.labels), is_stance, target_recall, ceiling
    )
    passes = screen_scores(screen_probs, large.labels) >= threshold
    # Agreement with the large model alone, on dev.
    large_probs = large.predict_proba(texts, contexts)
    cascade_probs = np.where(passes[:, None], large_probs, screen_probs)
    agree = np.mean(
        np.asarray(large.predict_labels_from(large_probs))
        == np.asarray(large.predict_labels_from(cascade_probs))
    )
    target = model_dir / SCREEN_DIR
    with atomic_folder(target) as staging:
        shutil.copytree(
            screen_dir, staging, ignore=shutil.ignore_patterns(ONNX_DIR), dirs_exist_ok=True
        )
    meta = dict(large.meta)  # read and checked when the model loaded above
    record = {
        "screen_base_model": screen.meta.get("base_model"),
        "screen_source": str(screen_dir),
        "screen_hash": hash_folder(target, exclude=(ONNX_DIR,)),
        "threshold": round(threshold, 6),
        "target_recall": target_recall,
        "dev_stance_recall": round(float(passes[is_stance].mean()), 4),
        "dev_pass_rate": round(float(passes.mean()), 4),
        "dev_agreement_with_model_alone": round(float(agree), 4),
        "rule": (
            f"the screen scores every passage; passages with 1 - p(none) >= {threshold:.4f} "
            "are scored again by the model"
        ),
    }
    meta["cascade"] = record
    write_json(meta, model_dir / "meta.json")
    return record
