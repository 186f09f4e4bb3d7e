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


def test_decision_rule_is_saved_with_the_model_and_applied_after_loading(trained_toy_model):
    meta = json.loads((trained_toy_model.model_dir / "meta.json").read_text())
    decision = meta["decision"]
    assert decision["threshold"] is not None and 0 <= decision["threshold"] <= 1
    assert decision["target_precision"] == 0.8 and decision["none_rate"] == 0.87
    loaded = StanceClassifier.load(trained_toy_model.model_dir, device="cpu", backend="torch")
    assert loaded.decision.threshold == decision["threshold"]
    texts = ["They refused talks.", "A bridge opened in the city."]
    probabilities = loaded.predict_proba(texts)
    expected = [
        "none"
        if 1 - p[LABELS.index("none")] < decision["threshold"]
        else LABELS[int(np.argmax([q if i != 3 else -1 for i, q in enumerate(p)]))]
        for p in probabilities
    ]
    assert loaded.predict(texts) == expected


def test_none_sampling_draws_every_stance_and_a_fresh_none_sample_each_epoch():
    import torch

    from pipeline.training import epoch_label_counts, epoch_order, length_grouped_batches

    gold = ["accept"] * 10 + ["none"] * 100
    generator = torch.Generator().manual_seed(1)
    first = epoch_order(gold, 2.0, generator)
    second = epoch_order(gold, 2.0, generator)
    assert len(first) == len(second) == 30 == sum(epoch_label_counts(gold, 2.0).values())
    assert set(range(10)) <= set(first) and set(range(10)) <= set(second)
    assert set(first) != set(second), "a new sample of none examples each epoch"
    assert sorted(epoch_order(gold, None, generator)) == list(range(110))
    lengths = [i % 7 for i in range(110)]
    batches = length_grouped_batches(list(range(110)), lengths, 8, generator, pool_batches=4)
    assert sorted(i for b in batches for i in b) == list(range(110))
    assert all(len(b) <= 8 for b in batches)


def test_frozen_layers_are_not_trained(toy_config, tmp_path):
    config = toy_config(epochs=1, frozen_layers=1)
    result = train(config, output_dir=tmp_path / "run", progress=False)
    assert result.meta["training"]["frozen_layers"] == 1
    total = sum(p.numel() for p in result.classifier.model.parameters())
    assert result.meta["training"]["trainable_parameters"] < total
    with pytest.raises(DataError, match="exceeds the model's"):
        train(toy_config(epochs=1, frozen_layers=99), output_dir=tmp_path / "x", progress=False)


def test_a_model_trained_with_context_reads_it_in_training_scoring_and_articles(
    toy_config, tmp_path
):
    from pipeline.articles import Document
    from pipeline.config import Config
    from pipeline.scoring import SegmentOptions, document_passages, score_passages

    base = toy_config(epochs=2)
    data = base.model_dump()
    data["model"]["context"] = "previous"
    result = train(Config.model_validate(data), output_dir=tmp_path / "run", progress=False)
    assert result.meta["context"] == "previous"
    loaded = StanceClassifier.load(result.model_dir, device="cpu", backend="torch")
    assert loaded.context == "previous"
    text = "They refused talks."
    context = "The rebels met the envoy in Doha on Monday."
    alone = loaded.encode([text], [""])["input_ids"][0]
    paired = loaded.encode([text], [context])["input_ids"][0]
    tokenizer = loaded.tokenizer
    assert tokenizer.decode(paired).count(tokenizer.sep_token) == 2
    assert len(paired) > len(alone) and paired[-len(alone) + 1 :] == alone[1:]
    # Scoring articles gives each passage the sentence before it.
    from pipeline.actors import ActorDictionary

    document = Document(doc_id="d", text="The rebels met the envoy. They refused talks.")
    passages = document_passages(document, SegmentOptions(), ActorDictionary({}))
    assert [p.previous for p in passages] == ["", "The rebels met the envoy."]
    rows = score_passages(loaded, passages)
    expected = loaded.predict_proba([p.text for p in passages], [p.previous for p in passages])
    np.testing.assert_allclose([r["p_reject"] for r in rows], expected[:, 1], atol=1e-5)


def test_statement_contexts_follow_document_order():
    from pipeline.annotations import Statement
    from pipeline.context import statement_contexts

    def s(id_, doc, text):
        return Statement(
            id=id_, text=text, label="none", doc_id=doc, source="authored", annotator="t"
        )

    statements = [
        s("a-2", "d1", "second"),
        s("b-1", "d2", "other"),
        s("a-1", "d1", "first"),
        s("a-3", "d1", "third"),
    ]
    assert statement_contexts(statements, "previous") == ["first", "", "", "second"]
    assert statement_contexts(statements, "headline") == ["first", "", "", "first"]
    assert statement_contexts(statements, "none") == ["", "", "", ""]


def test_a_training_that_fails_while_saving_keeps_the_earlier_model_folder(
    toy_config, tmp_path, monkeypatch
):
    import pipeline.training

    first = train(toy_config(epochs=1), output_dir=tmp_path, progress=False)
    before = {p.name: p.read_bytes() for p in first.model_dir.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline.training, "write_model_card", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        train(toy_config(epochs=1), output_dir=tmp_path, progress=False)
    assert {p.name: p.read_bytes() for p in first.model_dir.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
