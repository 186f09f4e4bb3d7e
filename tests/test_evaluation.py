"""Evaluation harness: baselines, intervals, significance, report files and the quality gate."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.baselines import BaselineClassifier, train_baseline
from pipeline.cli import cli
from pipeline.config import Config
from pipeline.errors import ConfigError, DataError, ModelFolderError, QualityGateError
from pipeline.evaluation import (
    bootstrap_indices,
    bootstrap_interval,
    check_gate,
    enforce_gate,
    evaluate_run,
    paired_bootstrap,
)
from pipeline.evaluation_report import write_report
from pipeline.labels import LABELS

TEXTS = [
    "They refused talks.",
    "They agreed to talks.",
    "Talks only if troops leave.",
    "Rain fell.",
    "They rejected dialogue.",
    "They welcomed negotiations.",
    "Negotiations once prisoners are freed.",
    "A bridge opened.",
] * 4
GOLD = ["reject", "accept", "conditional", "none"] * 8


def test_baseline_probabilities_follow_label_order_and_survive_save_load(tmp_path):
    model = train_baseline("tfidf_lr", TEXTS, GOLD, seed=1, base_model="unused")
    probs = model.predict_proba(["They refused talks."])
    assert probs.shape == (1, 4)
    assert LABELS[int(probs.argmax())] == "reject"
    model.save(tmp_path / "tfidf_lr")
    loaded = BaselineClassifier.load(tmp_path / "tfidf_lr")
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS))
    assert not list(tmp_path.rglob("*.pkl"))


def test_majority_baseline_and_unknown_name():
    model = train_baseline("majority", TEXTS, ["none"] * 20 + GOLD[:12], seed=1, base_model="x")
    assert set(model.predict(TEXTS)) == {"none"}
    with pytest.raises(ConfigError, match="unknown baseline 'bert'"):
        train_baseline("bert", TEXTS, GOLD, seed=1, base_model="x")


def test_calibrated_svm_round_trips(tmp_path):
    model = train_baseline("tfidf_svm", TEXTS, GOLD, seed=1, base_model="unused")
    model.save(tmp_path / "svm")
    np.testing.assert_allclose(
        BaselineClassifier.load(tmp_path / "svm").predict_proba(TEXTS), model.predict_proba(TEXTS)
    )


def test_baseline_file_with_untrusted_types_is_refused(tmp_path):
    import os

    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    folder = tmp_path / "evil"
    folder.mkdir()
    # A "model" that would call os.system on its input: skops records the function by name.
    skops.io.dump(FunctionTransformer(func=os.system), folder / "model.skops")
    (folder / "baseline.json").write_text(json.dumps({"name": "tfidf_lr", "base_model": None}))
    with pytest.raises(ModelFolderError) as info:
        BaselineClassifier.load(folder)
    assert "refusing to load types outside the allow-list: posix.system" in str(info.value)


def test_bootstrap_interval_brackets_the_point_estimate():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, 200)
    predicted = np.where(rng.random(200) < 0.7, gold, rng.integers(0, 4, 200))
    low, high = bootstrap_interval(gold, predicted, bootstrap_indices(200, 500, 1))
    from sklearn.metrics import f1_score

    point = f1_score(gold, predicted, average="macro")
    assert low < point < high
    assert high - low < 0.2


def test_paired_bootstrap_separates_a_better_model_from_noise():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, 300)
    good = np.where(rng.random(300) < 0.9, gold, (gold + 1) % 4)
    bad = np.where(rng.random(300) < 0.5, gold, (gold + 1) % 4)
    resamples = bootstrap_indices(300, 500, 2)
    assert paired_bootstrap(gold, good, bad, resamples)["p_value"] < 0.01
    assert paired_bootstrap(gold, good, good, resamples)["p_value"] == 1.0


def passing_report(**gate):
    return {
        "gate": {"macro_f1_floor": 0.5, "against_best_baseline": True, **gate},
        "test": {
            "best_baseline": "tfidf_lr",
            "models": {"finetuned": {"macro_f1": 0.8}, "tfidf_lr": {"macro_f1": 0.7}},
        },
    }


def test_gate_passes_a_healthy_run_and_trips_on_regressions():
    assert check_gate(passing_report()) == []
    below_floor = passing_report(macro_f1_floor=0.9)
    assert check_gate(below_floor) == [
        "fine-tuned test macro-F1 0.800 is below the floor 0.900 (evaluate.macro_f1_floor)"
    ]
    beaten = passing_report()
    beaten["test"]["models"]["tfidf_lr"]["macro_f1"] = 0.85
    assert check_gate(beaten) == [
        "fine-tuned test macro-F1 0.800 is below the best baseline tfidf_lr (0.850)"
    ]
    beaten["gate"]["against_best_baseline"] = False
    assert check_gate(beaten) == []
    with pytest.raises(QualityGateError) as info:
        enforce_gate(below_floor)
    assert info.value.exit_code == 3


def test_gate_command_exits_3_on_a_failing_metrics_file(tmp_path):
    failing = passing_report()
    failing["test"]["models"]["finetuned"]["macro_f1"] = 0.4
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(failing))
    result = CliRunner().invoke(cli, ["gate", str(path)])
    assert result.exit_code == 3
    assert "gate failed: fine-tuned test macro-F1 0.400 is below the floor 0.500" in result.stderr
    path.write_text(json.dumps(passing_report()))
    result = CliRunner().invoke(cli, ["gate", str(path)])
    assert result.exit_code == 0 and result.output == "gate passed\n"


def test_gate_fails_when_a_figure_is_not_a_number(tmp_path):
    not_a_number = passing_report()
    not_a_number["test"]["models"]["finetuned"]["macro_f1"] = float("nan")
    assert check_gate(not_a_number) == [
        "fine-tuned test macro-F1 is nan, not a number; the gate cannot pass (re-run "
        "`stance evaluate`)"
    ]
    baseline_nan = passing_report()
    baseline_nan["test"]["models"]["tfidf_lr"]["macro_f1"] = float("nan")
    assert check_gate(baseline_nan) == [
        "best baseline tfidf_lr: test macro-F1 is nan, not a number; the fine-tuned model "
        "cannot be compared with it"
    ]
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(not_a_number))  # json writes NaN, and reads it back
    assert "NaN" in path.read_text()
    result = CliRunner().invoke(cli, ["gate", str(path)])
    assert result.exit_code == 3
    assert "gate failed: fine-tuned test macro-F1 is nan, not a number" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"gate": {"macro_f1_floor": 0.5},\n "test": ', ":2: not valid JSON (Expecting value)"),
        ("[1, 2]", ": expected a JSON object"),
        ('{"gate": {"macro_f1_floor": 0.5}, "test": []}', ": test: Input should be a valid"),
        (
            '{"gate": {"macro_f1_floor": "high"}, "test": {"models": {}}}',
            ": gate.macro_f1_floor: Input should be a valid number",
        ),
        ('{"test": {"models": {}}}', ": no gate settings in this report"),
    ],
)
def test_gate_names_what_is_wrong_with_a_malformed_metrics_file(tmp_path, content, message):
    path = tmp_path / "metrics.json"
    path.write_text(content)
    result = CliRunner().invoke(cli, ["gate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}{message}")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("gate", "articles", "message"),
    [
        ({"macro_f1_floor": 0.5}, None, "gate passed\n"),  # against_best_baseline defaults on
        ({"macro_f1_floor": "0.95"}, None, "gate failed: fine-tuned test macro-F1 0.800 is below"),
        (
            {"macro_f1_floor": 0.5, "article_f1_floor": 0.5},
            {"models": {"finetuned": "not an object"}},
            "gate passed\n",
        ),
    ],
)
def test_gate_reads_hand_written_metrics_without_a_traceback(tmp_path, gate, articles, message):
    report = passing_report()
    report["gate"] = gate
    if articles is not None:
        report["articles"] = articles
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(report))
    result = CliRunner().invoke(cli, ["gate", str(path)])
    assert not isinstance(result.exception, (KeyError, TypeError, AttributeError))
    assert result.output.startswith(message)


def test_evaluate_run_writes_the_full_report(trained_toy_model, tmp_path):
    config = Config.model_validate(
        {
            **trained_toy_model.meta["config"],
            "evaluate": {
                "baselines": ["majority", "tfidf_lr"],
                "cv_folds": 3,
                "bootstrap_samples": 200,
                "macro_f1_floor": 0.1,
                "articles": str(tmp_path / "no-such-folder"),
                "article_precision_floor": 0.99,
            },
        }
    )
    model_files = sorted(trained_toy_model.model_dir.rglob("*"))
    report, scored, statements, baselines = evaluate_run(
        config, trained_toy_model.model_dir, cross_validation=True, progress=False
    )
    folder = write_report(report, scored, statements, tmp_path / "report")
    saved = json.loads((folder / "metrics.json").read_text())
    # Scored with the runtime the config names (torch by default), nothing exported into the
    # model folder.
    assert saved["backend"] == "torch"
    assert sorted(trained_toy_model.model_dir.rglob("*")) == model_files
    assert saved["test"]["ranking"][-1] == "majority"
    assert set(saved["test"]["models"]) == {"finetuned", "majority", "tfidf_lr"}
    for model in saved["test"]["models"].values():
        low, high = model["macro_f1_ci95"]
        assert low <= model["macro_f1"] <= high
    assert saved["test"]["significance"]["baseline"] == saved["test"]["best_baseline"]
    assert saved["cross_validation"]["folds"] == 3
    assert len(saved["cross_validation"]["models"]["tfidf_lr"]["per_fold"]) == 3
    assert saved["gate"]["passed"] is (not saved["gate"]["failures"])
    # A missing gold-articles folder is said, and that part of the gate is skipped.
    assert "gold-articles folder not found" in saved["articles"]["skipped"]
    assert not any("article-level" in failure for failure in saved["gate"]["failures"])
    markdown = (folder / "comparison.md").read_text()
    assert "## Whole articles" in markdown and "Skipped:" in markdown
    assert "| 1 |" in markdown and "Paired bootstrap" in markdown and "## Quality gate" in markdown
    assert (folder / "confusion_finetuned.png").read_bytes()[:4] == b"\x89PNG"
    errors = [json.loads(line) for line in (folder / "errors.jsonl").read_text().splitlines()]
    assert all(e["gold"] != e["predicted"] for e in errors)
    assert set(baselines) == {"majority", "tfidf_lr"}


def test_evaluate_model_on_a_labelled_file(trained_toy_model, toy_annotations, tmp_path):
    model_dir = tmp_path / "m"
    shutil.copytree(trained_toy_model.model_dir, model_dir)
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--data",
            str(toy_annotations),
            "--output",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert saved["data"]["split_sizes"] == {"test": 112}
    assert saved["test"]["models"]["finetuned"]["macro_f1"] > 0.9


def test_gold_file_without_some_labels_averages_over_the_labels_it_has(
    trained_toy_model, toy_annotations, tmp_path, caplog
):
    from pipeline.evaluation import evaluate_file
    from pipeline.evaluation_report import comparison_markdown

    lines = toy_annotations.read_text().splitlines()
    gold = tmp_path / "accept_reject.jsonl"
    gold.write_text(
        "".join(line + "\n" for line in lines if json.loads(line)["label"] in ("accept", "reject"))
    )
    with caplog.at_level("WARNING", logger="pipeline.evaluation"):
        report, _, _ = evaluate_file(trained_toy_model.model_dir, [gold], samples=100, device="cpu")
    model = report["test"]["models"]["finetuned"]
    per_class = model["per_class"]
    assert report["test"]["macro_f1_labels"] == ["accept", "reject"]
    assert model["macro_f1"] == pytest.approx(
        (per_class["accept"]["f1"] + per_class["reject"]["f1"]) / 2
    )
    assert model["macro_f1"] > 0.9  # not dragged to 0.5 by two labels with no gold statement
    assert "no gold statement is labelled conditional or none" in caplog.text
    assert "Macro-F1 averages over the 2 labels present in the gold data (accept, reject)" in (
        comparison_markdown(report)
    )


def test_evaluate_needs_config_or_model_and_data():
    result = CliRunner().invoke(cli, ["evaluate"])
    assert result.exit_code == 2
    assert "give --config FILE, or --model DIR with --data FILE or --articles DIR" in result.output


def test_learning_curve_trains_on_growing_document_subsets(toy_config, tmp_path):
    from pipeline.evaluation import learning_curve, plot_learning_curve, subsample_documents

    config = toy_config(epochs=2).model_copy(
        update={"evaluate": Config().evaluate.model_copy(update={"bootstrap_samples": 100})}
    )
    curve = learning_curve(config, fractions=(0.5, 1.0), progress=False)
    sizes = [p["train_size"] for p in curve["points"]]
    assert sizes[0] < sizes[1]
    for point in curve["points"]:
        low, high = point["macro_f1_ci95"]
        assert low <= point["macro_f1"] <= high
    plot_learning_curve(curve, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    from pipeline.annotations import load_statements

    statements = load_statements(config.data.paths)
    half = subsample_documents(statements, 0.5, seed=1)
    kept_docs = {s.doc_id for s in half}
    assert all(s in half for s in statements if s.doc_id in kept_docs)  # whole documents only


def test_leave_one_conflict_out_tests_each_conflict_and_always_trains_on_ordinary_news():
    from pipeline.annotations import Statement
    from pipeline.evaluation import cross_validate

    statements = []
    for conflict in ["Iran", "Sudan", "Yemen"]:
        for i, (text, label) in enumerate(zip(TEXTS, GOLD)):
            statements.append(
                Statement(
                    id=f"{conflict}-{i}",
                    text=f"{text} ({conflict} {i})",
                    label=label,
                    holder="" if label == "none" else "Iran",
                    condition="a condition" if label == "conditional" else "",
                    doc_id=f"{conflict}-{i // 8}",
                    source="authored",
                    annotator="t",
                    conflict=conflict,
                )
            )
    statements += [
        Statement(
            id=f"news-{i}",
            text=f"Shares rose {i} percent.",
            label="none",
            doc_id="news",
            source="authored",
            annotator="t",
            section="business",
        )
        for i in range(20)
    ]
    config = Config.model_validate({"evaluate": {"baselines": ["majority", "tfidf_lr"]}})
    result = cross_validate(config, statements, include_finetuned=False, by="conflict")
    assert result["groups"] == "conflict"
    assert result["fold_names"] == ["Iran", "Sudan", "Yemen"]
    assert len(result["models"]["tfidf_lr"]["per_fold"]) == 3
    assert (
        result["models"]["tfidf_lr"]["macro_f1_mean"]
        > result["models"]["majority"]["macro_f1_mean"]
    )
    # A fine-tuned fold is a whole training run: --cv-max-folds keeps the largest conflicts.
    yemen = [s for s in statements if s.conflict == "Yemen"]
    more = [s.model_copy(update={"id": s.id + "b", "doc_id": s.doc_id + "b"}) for s in yemen]
    result = cross_validate(
        config, statements + more, include_finetuned=False, by="conflict", max_folds=2
    )
    assert result["fold_names"] == ["Yemen", "Iran"]
    assert len(result["models"]["tfidf_lr"]["per_fold"]) == 2


def test_evaluate_refuses_a_model_trained_on_another_corpus(trained_toy_model, tmp_path):
    # Today's split is recomputed from today's files: a statement added since training could
    # land in test after the model trained on it, so the run is refused unless the user says so.
    model_dir = tmp_path / "model-best"
    shutil.copytree(trained_toy_model.model_dir, model_dir)
    meta = json.loads((model_dir / "meta.json").read_text())
    edited = sorted(meta["data"]["files"])[0]
    meta["data"]["files"][edited] = "0" * 64  # trained on another version of this file
    (model_dir / "meta.json").write_text(json.dumps(meta))
    config = Config.model_validate(
        {
            **trained_toy_model.meta["config"],
            "evaluate": {"baselines": ["majority"], "bootstrap_samples": 200, "baseline_cv": False},
        }
    )
    with pytest.raises(DataError, match=f"corpus changed since this model was trained .*{edited}"):
        evaluate_run(config, model_dir, progress=False)
    report, *_ = evaluate_run(config, model_dir, progress=False, allow_changed_corpus=True)
    assert report["data"]["changed_since_training"] == [f"{edited} edited"]
