"""Training on a tiny random-init transformer: the loop, the model folder, the errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pipeline import StanceClassifier
from pipeline.errors import DataError, ModelFolderError
from pipeline.labels import LABELS
from pipeline.training import train


def test_overfit_save_load_gives_identical_probabilities(trained_toy_model, toy_annotations):
    texts = [json.loads(line)["text"] for line in toy_annotations.read_text().splitlines()]
    gold = [json.loads(line)["label"] for line in toy_annotations.read_text().splitlines()]
    in_memory = trained_toy_model.classifier.predict_proba(texts)
    loaded = StanceClassifier.load(trained_toy_model.model_dir, device="cpu", backend="torch")
    assert loaded.labels == list(LABELS)
    np.testing.assert_allclose(loaded.predict_proba(texts), in_memory, atol=1e-6)
    accuracy = np.mean([p == g for p, g in zip(loaded.predict(texts), gold)])
    assert accuracy >= 0.9, "the tiny model should fit this easy data"


def test_model_folder_is_self_describing(trained_toy_model):
    folder = trained_toy_model.model_dir
    assert folder.name == "model-best"
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "config.yaml",
        "meta.json",
        "metrics.json",
        "training_log.jsonl",
        "README.md",
    ):
        assert (folder / name).is_file(), name
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["labels"] == list(LABELS)
    assert set(meta["versions"]) >= {"torch", "transformers", "scikit-learn", "python"}
    assert len(meta["base_model"]["weights_sha256"]) == 64
    assert (
        list(meta["data"]["files"].values())[0]
        == __import__("hashlib")
        .sha256(open(list(meta["data"]["files"])[0], "rb").read())
        .hexdigest()
    )
    assert sum(meta["data"]["split_sizes"].values()) == 112
    assert meta["seed"] == 7 and meta["config"]["seed"] == 7
    metrics = json.loads((folder / "metrics.json").read_text())
    for split in ("dev", "test"):
        assert set(metrics[split]) >= {
            "macro_f1",
            "accuracy",
            "per_class",
            "confusion_matrix",
            "ece",
        }
        assert metrics[split]["confusion_matrix"]["labels"] == list(LABELS)
        assert sum(map(sum, metrics[split]["confusion_matrix"]["matrix"])) == metrics[split]["n"]
    log = [json.loads(line) for line in (folder / "training_log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == list(range(1, len(log) + 1))
    assert meta["training"]["best_epoch"] == max(log, key=lambda r: r["dev_macro_f1"])["epoch"]
    card = (folder / "README.md").read_text()
    assert "## Intended use" in card and "`conditional`" in card and "## Limitations" in card


def test_training_is_repeatable_on_cpu(toy_config, tmp_path):
    first = train(toy_config(epochs=2), output_dir=tmp_path / "a", progress=False)
    second = train(toy_config(epochs=2), output_dir=tmp_path / "b", progress=False)
    assert first.metrics == second.metrics
    texts = ["They refused any talks.", "Rain fell on the border."]
    np.testing.assert_array_equal(
        first.classifier.predict_proba(texts), second.classifier.predict_proba(texts)
    )


def test_early_stopping_restores_the_best_epoch(toy_config, tmp_path):
    result = train(
        toy_config(epochs=12, early_stopping_patience=1, learning_rate=5e-2),
        output_dir=tmp_path,
        progress=False,
    )
    log = [
        json.loads(line)
        for line in (result.model_dir / "training_log.jsonl").read_text().splitlines()
    ]
    best = max(row["dev_macro_f1"] for row in log)
    assert result.meta["training"]["epochs_run"] == len(log)
    assert json.loads((result.model_dir / "meta.json").read_text())["training"][
        "best_epoch"
    ] == next(r["epoch"] for r in log if r["dev_macro_f1"] == best)
    assert len(log) < 12 or all(a["dev_macro_f1"] < b["dev_macro_f1"] for a, b in zip(log, log[1:]))


def test_too_few_examples_of_a_label_is_a_clear_error(toy_config, tmp_path):
    with pytest.raises(DataError) as info:
        train(toy_config(min_examples_per_label=500), output_dir=tmp_path, progress=False)
    message = str(info.value)
    assert message.startswith("too few training examples: 'accept' has ")
    assert "(need at least 500 per label, train.min_examples_per_label)" in message


def test_loading_names_missing_files(trained_toy_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(trained_toy_model.model_dir, broken)
    (broken / "model.safetensors").unlink()
    (broken / "meta.json").unlink()
    with pytest.raises(ModelFolderError) as info:
        StanceClassifier.load(broken)
    assert str(info.value).startswith(
        f"{broken}: not a complete model folder, missing model.safetensors, meta.json"
    )
    with pytest.raises(ModelFolderError, match="model folder not found"):
        StanceClassifier.load(tmp_path / "nowhere")


def test_label_order_mismatch_is_refused(trained_toy_model, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(trained_toy_model.model_dir, folder)
    meta = json.loads((folder / "meta.json").read_text())
    meta["labels"] = list(reversed(meta["labels"]))
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFolderError, match="label order in config.json"):
        StanceClassifier.load(folder)
