"""A fake classifier: fixed probabilities chosen by keywords; no weights, no tokenizer.

`KeywordClassifier` has every member that the predict path, `report` and `suggest` use
(`labels`, `predict_proba`, `predict_labels_from`, `decision`, `context`, `meta`, `device`,
`backend`, `onnx_graph`, `folder`), so their tests run without a trained model. The real model
is for the tests of training, loading and backends, and for the slow tests.

`write_fake_model_folder` writes a folder that `stance predict` and `stance suggest` accept (the
required file names, a `config.yaml`, the actor dictionary); `use_fake_classifier` makes
`pipeline.cascade.load_classifier`, which every command loads a model with, return the fake for
such a folder and load any other folder as before.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from pipeline.config import Config, dump_config
from pipeline.decision import DecisionRule
from pipeline.labels import LABELS

MARKER = "fake-classifier.txt"
# Lower-case phrases, tried in this order: the first label with a phrase in the text wins.
KEYWORDS = {
    "reject": ("refus", "ruled out", "reject", "boycott", "no dialogue", "no negotiat"),
    "conditional": (" only if ", " provided ", " on condition", " unless "),
    "accept": ("ready to", "ready for", "welcom", "agreed to", "urged", "resume"),
}
# One fixed row per label, columns in LABELS order (accept, reject, conditional, none).
PROBABILITIES = {
    "accept": (0.80, 0.05, 0.05, 0.10),
    "reject": (0.05, 0.80, 0.05, 0.10),
    "conditional": (0.10, 0.05, 0.60, 0.25),
    "none": (0.04, 0.03, 0.03, 0.90),
}


def keyword_label(text: str) -> str:
    """The label the fake gives `text`: the first label in KEYWORDS with a phrase in it."""
    lowered = f" {text.lower()} "
    for label, phrases in KEYWORDS.items():
        if any(phrase in lowered for phrase in phrases):
            return label
    return "none"


class KeywordClassifier:
    """Scores like `StanceClassifier` (argmax rule, no context), with `PROBABILITIES`."""

    labels = list(LABELS)
    context = "none"
    backend = "fake"
    device = "cpu"
    onnx_graph = None

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))
        self.decision = DecisionRule()

    def predict_proba(self, texts, contexts=None) -> np.ndarray:
        rows = [PROBABILITIES[keyword_label(text)] for text in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(LABELS))

    def predict_labels_from(self, probabilities: np.ndarray) -> list[str]:
        return [self.labels[i] for i in self.decision.decide(probabilities, self.labels)]

    def predict(self, texts, contexts=None) -> list[str]:
        return self.predict_labels_from(self.predict_proba(texts, contexts))


def write_fake_model_folder(folder: Path, actors: Path) -> Path:
    """A folder that passes `check_model_folder` and loads as a `KeywordClassifier` (once
    `use_fake_classifier` is in place); it carries `actors` as its actor dictionary."""
    folder.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (folder / name).write_text("fake: no weights, see tests/fakes.py\n", encoding="utf-8")
    (folder / MARKER).write_text("scores with tests/fakes.py:KeywordClassifier\n")
    shutil.copyfile(actors, folder / "actors.yaml")
    meta = {
        "labels": list(LABELS),
        "base_model": "fake-keywords",
        "max_length": 128,
        "window_stride": 32,
        "config": {"fake": True},
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    dump_config(Config(), folder / "config.yaml")
    return folder


def use_fake_classifier(monkeypatch) -> None:
    """Make `load_classifier` return a `KeywordClassifier` for a fake model folder."""
    import pipeline.cascade

    real = pipeline.cascade.load_classifier

    def load_classifier(path, cascade: bool = True, **kwargs):
        if (Path(path) / MARKER).is_file():
            return KeywordClassifier(Path(path))
        return real(path, cascade=cascade, **kwargs)

    monkeypatch.setattr(pipeline.cascade, "load_classifier", load_classifier)


def interrupt_scoring_at_batch(monkeypatch, batch_number: int):
    """Make the local engine raise KeyboardInterrupt on its `batch_number`-th scoring call: a run
    stopped part-way, for the resume tests. Returns the function that puts the real scoring back
    (the rerun that resumes)."""
    import pipeline.prediction.local as local_engine

    real_score, calls = local_engine.score_passages, {"n": 0}

    def interrupted(classifier, batch, actors=None):
        calls["n"] += 1
        if calls["n"] == batch_number:
            raise KeyboardInterrupt
        return real_score(classifier, batch, actors)

    monkeypatch.setattr(local_engine, "score_passages", interrupted)
    return lambda: monkeypatch.setattr(local_engine, "score_passages", real_score)
