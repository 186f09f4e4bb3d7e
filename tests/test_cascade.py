"""The cascade: a screening model in front of the large one, stored in the large model folder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO

from pipeline.cascade import (
    SCREEN_DIR,
    CascadeClassifier,
    build_cascade,
    choose_screen_threshold,
    load_classifier,
)
from pipeline.classifier import StanceClassifier
from pipeline.cli import cli
from pipeline.config import PredictConfig
from pipeline.errors import ModelFolderError
from pipeline.inference import predict

TEXTS = [
    "The rebels said they were ready for talks without preconditions.",
    "The government ruled out any negotiations with the group.",
    "Heavy rain closed the border crossing for a second day.",
    "Hamas will attend the talks only if the bombing stops.",
    "The central bank left interest rates unchanged.",
]


@pytest.fixture
def large_and_screen(trained_toy_model, tmp_path):
    large = tmp_path / "large"
    screen = tmp_path / "screen-src"
    shutil.copytree(trained_toy_model.model_dir, large)
    shutil.copytree(trained_toy_model.model_dir, screen)
    return large, screen


def test_screen_threshold_keeps_the_target_recall_and_never_exceeds_the_model_threshold():
    scores = np.asarray([0.9, 0.8, 0.7, 0.6, 0.05, 0.01, 0.3, 0.02])
    is_stance = np.asarray([1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
    threshold = choose_screen_threshold(scores, is_stance, 0.99, ceiling=0.95)
    assert threshold == pytest.approx(0.05)  # keeps all five stance items
    assert np.mean(scores[is_stance] >= threshold) == 1.0
    lenient = choose_screen_threshold(scores, is_stance, 0.8, ceiling=0.95)
    assert lenient == pytest.approx(0.6)  # may lose one of five
    assert choose_screen_threshold(scores, is_stance, 0.8, ceiling=0.4) == pytest.approx(0.4)


def test_cascade_is_recorded_in_the_model_folder_and_loaded_by_default(large_and_screen):
    large, screen = large_and_screen
    record = build_cascade(large, screen)
    assert (large / SCREEN_DIR / "model.safetensors").is_file()
    meta = json.loads((large / "meta.json").read_text())
    assert meta["cascade"] == record
    assert record["dev_stance_recall"] >= 0.99
    assert 0 <= record["dev_pass_rate"] <= 1
    classifier = load_classifier(large, device="cpu", backend="torch")
    assert isinstance(classifier, CascadeClassifier)
    plain = load_classifier(large, cascade=False, device="cpu", backend="torch")
    assert isinstance(plain, StanceClassifier)
    # The same weights screen and re-score: the cascade must give the large model's labels.
    assert classifier.predict(TEXTS) == plain.predict(TEXTS)
    assert classifier.last_pass_rate is not None


def test_screened_passages_keep_the_screen_probabilities(large_and_screen):
    large, screen = large_and_screen
    build_cascade(large, screen)
    classifier = load_classifier(large, device="cpu", backend="torch")
    classifier.threshold = 1.01  # nothing passes: every row is the screen's
    probabilities = classifier.predict_proba(TEXTS)
    assert classifier.last_pass_rate == 0.0
    expected = classifier.screen.predict_proba(TEXTS)[:, classifier._to_large]
    np.testing.assert_allclose(probabilities, expected, rtol=1e-6)


def test_a_changed_screen_is_refused(large_and_screen):
    large, screen = large_and_screen
    build_cascade(large, screen)
    meta = json.loads((large / SCREEN_DIR / "meta.json").read_text())
    meta["note"] = "edited"
    (large / SCREEN_DIR / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFolderError, match="differ from the hash"):
        load_classifier(large, device="cpu", backend="torch")
    shutil.rmtree(large / SCREEN_DIR)
    with pytest.raises(ModelFolderError, match="screen/ is missing"):
        load_classifier(large, device="cpu", backend="torch")


def test_predict_records_the_cascade_in_its_manifest(large_and_screen, tmp_path):
    large, screen = large_and_screen
    build_cascade(large, screen)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(
        "".join(json.dumps({"id": f"a{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS))
    )
    options = PredictConfig.model_validate(
        {"actors": str(REPO / "configs/actors.yaml"), "backend": "torch"}
    )
    manifest = predict(
        large, [str(inputs)], tmp_path / "out.jsonl", options, device="cpu", progress=False
    )
    cascade = manifest["model"]["cascade"]
    assert cascade["passages_screened"] == len(TEXTS)
    assert 0 <= cascade["passages_rescored"] <= len(TEXTS)
    assert (
        cascade["threshold"]
        == json.loads((large / "meta.json").read_text())["cascade"]["threshold"]
    )


def test_cli_cascade_refuses_a_screen_inside_the_model(large_and_screen):
    large, _ = large_and_screen
    inner = large / "inner"
    shutil.copytree(large, inner, ignore=shutil.ignore_patterns("inner"))
    result = CliRunner().invoke(cli, ["cascade", "--model", str(large), "--screen", str(inner)])
    assert result.exit_code != 0
    assert "outside the model's own" in result.output
