"""scikit-learn baselines, chosen by name, saved without pickle and loadable for scoring.

Every baseline exposes the same `predict_proba(texts)` as StanceClassifier, with columns in
LABELS order, so the evaluation harness treats all models alike. Models are saved with skops and
loaded with an explicit allow-list of scikit-learn types: a saved file cannot run code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.errors import ConfigError, ModelFolderError
from pipeline.labels import LABELS
from pipeline.provenance import package_versions, utc_now

BASELINE_NAMES = ("majority", "tfidf_lr", "tfidf_svm", "embeddings_lr")
BASELINE_DESCRIPTIONS = {
    "majority": "majority class",
    "tfidf_lr": "TF-IDF word 1-2 + char 2-5 grams, class-balanced logistic regression",
    "tfidf_svm": "TF-IDF word 1-2 + char 2-5 grams, calibrated linear SVM (class-balanced)",
    "embeddings_lr": "frozen base-model sentence embeddings, class-balanced logistic regression",
}

# The only types a saved baseline may contain; skops refuses anything else at load time.
TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.CountVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.dummy.DummyClassifier",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.utils._bunch.Bunch",
    "numpy.float64",
    "numpy.int64",
    "numpy.dtype",
    "numpy.ndarray",
    "scipy.sparse._csr.csr_matrix",
    "builtins.slice",
    "collections.defaultdict",
    "builtins.int",
    "builtins.float",
]


def _tfidf_features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    min_df=2,
                    lowercase=True,
                ),
            ),
        ]
    )


def make_estimator(name: str, seed: int):
    """A fresh, unfitted scikit-learn estimator for a baseline name.

    For `embeddings_lr` this is the classifier on top of the embeddings only.

    Raises:
        ConfigError: unknown baseline name.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    if name == "majority":
        return DummyClassifier(strategy="most_frequent")
    if name == "tfidf_lr":
        return Pipeline(
            [
                ("features", _tfidf_features()),
                (
                    "classifier",
                    LogisticRegression(
                        class_weight="balanced", C=10.0, max_iter=5000, random_state=seed
                    ),
                ),
            ]
        )
    if name == "tfidf_svm":
        svm = LinearSVC(class_weight="balanced", C=0.5, random_state=seed)
        return Pipeline(
            [
                ("features", _tfidf_features()),
                ("classifier", CalibratedClassifierCV(svm, cv=3, method="sigmoid")),
            ]
        )
    if name == "embeddings_lr":
        return LogisticRegression(class_weight="balanced", C=1.0, max_iter=5000, random_state=seed)
    raise ConfigError(
        f"evaluate.baselines: unknown baseline {name!r} (known: {', '.join(BASELINE_NAMES)})"
    )


class SentenceEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings from a frozen base model."""

    def __init__(self, base_model_name: str, batch_size: int = 64):
        self.base_model_name = base_model_name
        self.batch_size = batch_size
        self._model = None
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings for `texts`; each distinct text is embedded once per embedder."""
        new = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if new:
            for text, vector in zip(new, self._encode(new), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            from pipeline.base_models import resolve_base_model
            from pipeline.offline import offline_hub

            path = resolve_base_model(self.base_model_name).path
            with offline_hub():
                self._model = SentenceTransformer(str(path), device=None, local_files_only=True)
        return self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


class BaselineClassifier:
    """A fitted baseline with StanceClassifier's scoring interface."""

    def __init__(self, name: str, estimator, embedder: SentenceEmbedder | None = None):
        self.name = name
        self.estimator = estimator
        self.embedder = embedder
        self.labels = list(LABELS)

    def _features(self, texts: Sequence[str]):
        return self.embedder.encode(texts) if self.embedder else list(texts)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> BaselineClassifier:
        self.estimator.fit(self._features(texts), list(labels))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities with columns in LABELS order (labels unseen in training get 0)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        raw = self.estimator.predict_proba(self._features(texts))
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for column, label in enumerate(self.estimator.classes_):
            out[:, LABELS.index(label)] = raw[:, column]
        return out

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [LABELS[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def save(self, folder: str | Path) -> Path:
        """Write `model.skops` and `baseline.json` (name, labels, base model, versions)."""
        import skops.io

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        skops.io.dump(self.estimator, folder / "model.skops")
        info = {
            "name": self.name,
            "description": BASELINE_DESCRIPTIONS[self.name],
            "labels": self.labels,
            "base_model": self.embedder.base_model_name if self.embedder else None,
            "created": utc_now(),
            "versions": package_versions(("skops",)),
        }
        (folder / "baseline.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> BaselineClassifier:
        """Load a saved baseline, refusing any type outside the allow-list.

        Raises:
            ModelFolderError: files missing, or the file holds types that are not allowed.
        """
        import skops.io

        folder = Path(folder)
        missing = [n for n in ("model.skops", "baseline.json") if not (folder / n).is_file()]
        if missing:
            raise ModelFolderError(f"{folder}: not a baseline folder, missing {', '.join(missing)}")
        info = json.loads((folder / "baseline.json").read_text(encoding="utf-8"))
        untrusted = [
            t
            for t in skops.io.get_untrusted_types(file=folder / "model.skops")
            if t not in TRUSTED_TYPES
        ]
        if untrusted:
            raise ModelFolderError(
                f"{folder / 'model.skops'}: refusing to load types outside the allow-list: "
                f"{', '.join(untrusted)}"
            )
        estimator = skops.io.load(folder / "model.skops", trusted=TRUSTED_TYPES)
        embedder = SentenceEmbedder(info["base_model"]) if info["base_model"] else None
        return cls(info["name"], estimator, embedder)


def train_baseline(
    name: str,
    texts: Sequence[str],
    labels: Sequence[str],
    seed: int,
    base_model: str,
    embedder: SentenceEmbedder | None = None,
) -> BaselineClassifier:
    """Fit one baseline by name; `embeddings_lr` embeds with `base_model` (shared embedder)."""
    estimator = make_estimator(name, seed)
    if name == "embeddings_lr":
        embedder = embedder or SentenceEmbedder(base_model)
    else:
        embedder = None
    return BaselineClassifier(name, estimator, embedder).fit(texts, labels)
