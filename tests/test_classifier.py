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
