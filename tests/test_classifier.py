"""Scoring: batching, long passages over windows, calibrated probabilities."""

from __future__ import annotations

import numpy as np

from pipeline.classifier import length_sorted_batches, softmax


def test_probabilities_are_a_distribution_in_label_order(trained_toy_model):
    clf = trained_toy_model.classifier
    probs = clf.predict_proba(["The army refused any talks with the rebels.", "Rain fell."])
    assert probs.shape == (2, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.predict(["The army refused any talks with the rebels."]) == ["reject"]
    assert clf.predict_proba([]).shape == (0, 4)


def test_batching_does_not_change_results(trained_toy_model):
    clf = trained_toy_model.classifier
    texts = [
        "Short.",
        "The council urged dialogue with the front and the league today.",
        "The union will talk only if troops leave, said of the party.",
        "Rain.",
    ] * 5
    together = clf.predict_proba(texts)
    one_by_one = np.vstack([clf.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_long_passage_is_scored_over_overlapping_windows(trained_toy_model):
    clf = trained_toy_model.classifier
    long_text = " ".join(
        ["The army refused any talks with the rebels."] * 12
        + ["Rain fell near the border of the league."] * 12
    )
    logits, owners = clf.window_logits([long_text, "Rain."])
    windows = int((owners == 0).sum())
    assert windows > 3, "a passage many times the 32-token window needs several windows"
    expected = softmax(logits[owners == 0] / clf.temperature).mean(axis=0)
    np.testing.assert_allclose(clf.predict_proba([long_text])[0], expected, atol=1e-6)


def test_length_sorted_batches_respect_the_token_budget():
    lengths = [5, 50, 7, 48, 6, 49, 30]
    batches = length_sorted_batches(lengths, tokens_per_batch=100, max_batch_size=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert max(lengths[i] for i in batch) * len(batch) <= 100
        assert len(batch) <= 3
    assert [lengths[i] for i in batches[0]] == [5, 6, 7]


def test_temperature_is_fitted_and_stored(trained_toy_model):
    meta = trained_toy_model.meta
    assert meta["calibration"]["temperature"] > 0
    assert trained_toy_model.classifier.temperature == meta["calibration"]["temperature"]


def test_onnx_backends_agree_with_torch(trained_toy_model, tmp_path):
    import shutil

    from pipeline import StanceClassifier

    folder = tmp_path / "m"
    shutil.copytree(trained_toy_model.model_dir, folder)
    texts = [
        "The army refused any talks with the rebels.",
        "Rain fell near the border.",
        "The union will talk only if troops leave, said of the party.",
        " ".join(["The council urged dialogue with the front."] * 20),
    ]
    reference = StanceClassifier.load(folder, device="cpu", backend="torch")
    onnx = StanceClassifier.load(folder, device="cpu", backend="onnx")
    assert onnx.backend == "onnx" and (folder / "onnx" / "model.onnx").is_file()
    np.testing.assert_allclose(onnx.predict_proba(texts), reference.predict_proba(texts), atol=1e-4)
    quantized = StanceClassifier.load(folder, device="cpu", backend="onnx-int8")
    assert quantized.predict_proba(texts).shape == (4, 4)
    assert StanceClassifier.load(folder, device="cpu").backend == "onnx"  # auto on CPU


TEXTS = [
    "The army refused any talks with the rebels.",
    "Rain fell near the border.",
    "The union will talk only if troops leave, said of the party.",
]


def _copy_model(trained_toy_model, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(trained_toy_model.model_dir, folder)
    return folder


def _swap_label_rows(weights_file):
    """Swap the head's rows for the first two labels, as a tampered or stale file would."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(weights_file)
    for name in ("classifier.weight", "classifier.bias"):
        tensors[name] = tensors[name][[1, 0, 2, 3]].copy()
    save_file(tensors, weights_file, metadata={"format": "pt"})


def test_edited_onnx_graph_is_exported_again_not_used(trained_toy_model, tmp_path):
    import onnx
    from onnx import numpy_helper

    from pipeline import StanceClassifier

    folder = _copy_model(trained_toy_model, tmp_path)
    reference = StanceClassifier.load(folder, device="cpu", backend="torch").predict_proba(TEXTS)
    StanceClassifier.load(folder, device="cpu", backend="onnx")  # exports onnx/model.onnx
    graph_file = folder / "onnx" / "model.onnx"
    graph = onnx.load(graph_file)
    bias = next(t for t in graph.graph.initializer if list(t.dims) == [4])
    bias.CopyFrom(numpy_helper.from_array(np.asarray([50.0, 0, 0, 0], np.float32), bias.name))
    onnx.save(graph, graph_file)  # every passage would now be "accept 1.0"
    reloaded = StanceClassifier.load(folder, device="cpu", backend="onnx")
    np.testing.assert_allclose(reloaded.predict_proba(TEXTS), reference, atol=1e-4)


def test_weights_changed_after_training_are_refused(trained_toy_model, tmp_path):
    import pytest

    from pipeline import StanceClassifier
    from pipeline.errors import ModelFolderError

    folder = _copy_model(trained_toy_model, tmp_path)
    StanceClassifier.load(folder, device="cpu", backend="onnx")  # a cache from the old weights
    _swap_label_rows(folder / "model.safetensors")
    for backend in ("torch", "onnx"):
        with pytest.raises(ModelFolderError, match="differs from .* recorded in meta.json"):
            StanceClassifier.load(folder, device="cpu", backend=backend)


def test_onnx_cache_from_other_weights_is_exported_again(trained_toy_model, tmp_path):
    """A folder without a recorded weights hash (older models) still never scores with a graph
    exported from other weights."""
    import json

    from pipeline import StanceClassifier

    folder = _copy_model(trained_toy_model, tmp_path)
    StanceClassifier.load(folder, device="cpu", backend="onnx")
    meta = json.loads((folder / "meta.json").read_text())
    del meta["weights_sha256"]
    (folder / "meta.json").write_text(json.dumps(meta))
    _swap_label_rows(folder / "model.safetensors")
    reference = StanceClassifier.load(folder, device="cpu", backend="torch").predict_proba(TEXTS)
    onnx_probs = StanceClassifier.load(folder, device="cpu", backend="onnx").predict_proba(TEXTS)
    np.testing.assert_allclose(onnx_probs, reference, atol=1e-4)


def test_truncated_weights_are_named_even_with_an_onnx_cache(trained_toy_model, tmp_path):
    import pytest

    from pipeline import StanceClassifier
    from pipeline.errors import ModelFolderError

    folder = _copy_model(trained_toy_model, tmp_path)
    StanceClassifier.load(folder, device="cpu", backend="onnx")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelFolderError) as info:
        StanceClassifier.load(folder, device="cpu", backend="onnx")
    assert str(info.value).startswith(f"{weights}: incomplete or damaged weights file (")
    assert str(info.value).endswith("copy the model folder again from its source, or retrain")


def test_truncated_onnx_graph_is_exported_again(trained_toy_model, tmp_path):
    from pipeline import StanceClassifier

    folder = _copy_model(trained_toy_model, tmp_path)
    reference = StanceClassifier.load(folder, device="cpu", backend="torch").predict_proba(TEXTS)
    StanceClassifier.load(folder, device="cpu", backend="onnx-int8")
    for name in ("model.onnx", "model.uint8.onnx"):
        graph = folder / "onnx" / name
        graph.write_bytes(graph.read_bytes()[:1000])
    onnx = StanceClassifier.load(folder, device="cpu", backend="onnx")
    np.testing.assert_allclose(onnx.predict_proba(TEXTS), reference, atol=1e-4)
    assert StanceClassifier.load(folder, device="cpu", backend="onnx-int8").predict_proba(
        TEXTS
    ).shape == (3, 4)


def test_model_asking_to_run_its_own_code_is_refused(trained_toy_model, tmp_path):
    import json

    import pytest

    from pipeline import StanceClassifier
    from pipeline.errors import ModelFolderError

    folder = _copy_model(trained_toy_model, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError) as info:
        StanceClassifier.load(folder, device="cpu", backend="torch")
    assert str(info.value).startswith(
        f"{folder / 'config.json'}: auto_map: the model asks to run its own Python code "
        "(AutoModelForSequenceClassification), which this tool never does"
    )


def test_damaged_config_or_tokenizer_files_are_named_not_a_traceback(trained_toy_model, tmp_path):
    import pytest

    from pipeline import StanceClassifier
    from pipeline.errors import ModelFolderError

    cases = [
        ("config.json", "{}", "config.json (Unrecognized model in"),
        ("tokenizer.json", "", "tokenizer files (tokenizer.json, tokenizer_config.json) ("),
        ("tokenizer.json", "{}", "tokenizer files (tokenizer.json, tokenizer_config.json) ("),
        ("tokenizer.json", '{"added_tokens": []}', "tokenizer files (tokenizer.json, "),
    ]
    for number, (name, content, named) in enumerate(cases):
        folder = _copy_model(trained_toy_model, tmp_path / str(number))
        (folder / name).write_text(content)
        with pytest.raises(ModelFolderError) as info:
            StanceClassifier.load(folder, device="cpu", backend="torch")
        assert str(info.value).startswith(f"{folder}: cannot read its {named}")
        assert str(info.value).endswith("restore the model folder from its source, or retrain")


class FixedLogits:
    """A runtime that calls every window `accept` by two logits: no weights, no ONNX."""

    name, tensors, device, onnx_graph = "fixed", "np", "cpu", None

    def logits(self, features: dict) -> np.ndarray:
        rows = len(features["input_ids"])
        return np.tile(np.asarray([[2.0, 0.0, 0.0, 0.0]], np.float32), (rows, 1))


def test_the_classifier_scores_with_whatever_backend_it_is_given(trained_toy_model):
    """A new runtime is one backend object: StanceClassifier needs no change to use it."""
    from pipeline import StanceClassifier

    trained = trained_toy_model.classifier
    clf = StanceClassifier(FixedLogits(), trained.tokenizer, trained.labels, 32, 8)
    expected = softmax(np.asarray([[2.0, 0.0, 0.0, 0.0]] * len(TEXTS)))
    np.testing.assert_allclose(clf.predict_proba(TEXTS), expected, atol=1e-6)
    assert clf.predict(TEXTS) == ["accept"] * len(TEXTS)
    assert (clf.backend, clf.device, clf.onnx_graph, clf.model) == ("fixed", "cpu", None, None)


def test_the_backend_factory_builds_the_runtime_a_config_names(trained_toy_model, tmp_path):
    import pytest

    from pipeline.backends import load_backend
    from pipeline.errors import ModelFolderError
    from pipeline.provenance import sha256_file

    folder = _copy_model(trained_toy_model, tmp_path)
    weights = sha256_file(folder / "model.safetensors")
    tokenizer = trained_toy_model.classifier.tokenizer
    built = {
        requested: load_backend(folder, requested, "cpu", tokenizer, weights)
        for requested in ("torch", "onnx-int8", "auto")
    }
    assert {k: (b.name, b.tensors) for k, b in built.items()} == {
        "torch": ("torch", "pt"),
        "onnx-int8": ("onnx-int8", "np"),
        "auto": ("onnx", "np"),  # ONNX Runtime on CPU
    }
    assert built["torch"].onnx_graph is None
    assert built["onnx-int8"].onnx_graph == {
        "file": "onnx/model.uint8.onnx",
        "sha256": sha256_file(folder / "onnx" / "model.uint8.onnx"),
        "weights_sha256": weights,
    }
    with pytest.raises(ModelFolderError) as info:
        load_backend(folder, "tensorrt", "cpu", tokenizer, weights)
    assert str(info.value) == "unknown backend 'tensorrt' (expected torch, onnx, onnx-int8)"
