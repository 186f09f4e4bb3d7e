"""Whole-article evaluation: the gold format, matching passages to gold, figures and the gate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.actors import ActorDictionary
from pipeline.article_evaluation import evaluate_on_articles, read_as_predict_does
from pipeline.decision import DecisionRule, choose_threshold
from pipeline.errors import DataError
from pipeline.evaluation import check_gate
from pipeline.gold_articles import read_gold_articles
from pipeline.labels import LABELS
from pipeline.scoring import SegmentOptions

ACTORS = ActorDictionary({"Taliban": ["Taliban"], "United States": ["Washington", "US"]})
TALKS = (
    "The Taliban said they were ready for talks. Rain fell on Kabul. Washington refused any talks."
)
SPORT = "The striker scored twice. The coach praised the team."


class KeywordModel:
    """A fake classifier: fixed probabilities from keywords, no weights."""

    labels = list(LABELS)
    decision = DecisionRule()

    def predict_proba(self, texts):
        rows = []
        for text in texts:
            if "ready" in text:
                rows.append([0.8, 0.05, 0.05, 0.1])
            elif "refused" in text:
                rows.append([0.1, 0.7, 0.1, 0.1])
            elif "striker" in text:
                rows.append([0.6, 0.1, 0.0, 0.3])  # a false stance call in a sport article
            else:
                rows.append([0.05, 0.05, 0.05, 0.85])
        return np.asarray(rows, dtype=np.float32)


def _sentences(article_id, text, labels, holders=None, ambiguous=None):
    rows, start = [], 0
    for i, piece in enumerate(text.split(". ")):
        piece = piece if piece.endswith(".") else piece + "."
        start = text.index(piece, start)
        rows.append(
            {
                "article_id": article_id,
                "start": start,
                "end": start + len(piece),
                "text": piece,
                "label": labels[i],
                "holder": (holders or {}).get(i, ""),
                "ambiguous": (ambiguous or {}).get(i, False),
            }
        )
        start += len(piece)
    return rows


def _gold_folder(tmp_path, ambiguous=None):
    folder = tmp_path / "gold"
    folder.mkdir()
    articles = [
        {"id": "t1", "text": TALKS, "group": "talks", "extra": "kept as provenance"},
        {"id": "s1", "text": SPORT, "group": "unrelated"},
    ]
    sentences = _sentences(
        "t1", TALKS, ["accept", "none", "reject"], {0: "Taliban", 2: "US"}, ambiguous
    ) + _sentences("s1", SPORT, ["none", "none"])
    (folder / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    (folder / "sentences.jsonl").write_text("".join(json.dumps(s) + "\n" for s in sentences))
    return folder


def _evaluate(folder):
    articles, problems = read_gold_articles(folder)
    documents = read_as_predict_does(folder, articles, 10_000_000)
    results, _ = evaluate_on_articles(
        {"fake": KeywordModel()}, articles, documents, SegmentOptions(), ACTORS, samples=200
    )
    return results["fake"], problems


def test_end_to_end_figures_count_true_and_false_stance_calls(tmp_path):
    figures, problems = _evaluate(_gold_folder(tmp_path))
    assert problems == []
    overall = figures["all"]
    # Three stance calls: two right (accept, reject), one false (the striker sentence).
    assert overall["n_predicted_stance"] == 3
    assert overall["stance_precision"] == pytest.approx(2 / 3)
    assert overall["stance_recall"] == 1.0
    assert overall["label_accuracy"] == 1.0
    # Gold holder "US" is the dictionary's United States; attribution found both holders.
    assert overall["holder_accuracy"] == 1.0
    # One false call over three unambiguous none sentences.
    assert overall["false_calls_per_100_none"] == pytest.approx(100 / 3)
    assert figures["unrelated"]["n_false_stance_calls"] == 1
    assert figures["talks"]["stance_precision"] == 1.0
    low, high = overall["ci95"]["stance_precision"]
    assert low <= overall["stance_precision"] <= high


def test_ambiguous_gold_sentences_are_left_out(tmp_path):
    figures, _ = _evaluate(_gold_folder(tmp_path, ambiguous={2: True}))
    overall = figures["all"]
    assert overall["n_passages_left_out"] == 1
    assert overall["n_gold_stance"] == 1
    assert overall["n_predicted_stance"] == 2


def test_gold_validation_names_file_line_and_field(tmp_path):
    folder = _gold_folder(tmp_path)
    bad_rows = [
        {"article_id": "t1", "start": 0, "end": 5, "text": "Wrong", "label": "none"},
        {"article_id": "zz", "start": 0, "end": 5, "label": "none"},
        {"article_id": "t1", "start": 0, "end": 9999, "label": "maybe"},
    ]
    with (folder / "sentences.jsonl").open("a") as handle:
        for row in bad_rows:
            handle.write(json.dumps({"holder": "", "ambiguous": False, **row}) + "\n")
        handle.write("{not json\n")
    _, problems = read_gold_articles(folder)
    messages = [str(p) for p in problems]
    path = folder / "sentences.jsonl"
    assert f"{path}:6: text: does not match the article text at start:end" in messages
    assert f"{path}:7: article_id: unknown article 'zz'" in messages
    assert any(m.startswith(f"{path}:8: start: need 0 <= start < end <=") for m in messages)
    assert any(m.startswith(f"{path}:9: json: invalid JSON") for m in messages)


def test_missing_gold_files_are_an_error(tmp_path):
    with pytest.raises(DataError, match="missing articles.jsonl"):
        read_gold_articles(tmp_path)


def test_threshold_rule_trades_recall_for_precision_at_the_users_base_rate():
    rng = np.random.default_rng(0)
    gold = ["accept"] * 50 + ["none"] * 50
    stance_p = np.concatenate([rng.uniform(0.3, 1.0, 50), rng.uniform(0.0, 0.7, 50)])
    probabilities = np.stack([stance_p, np.zeros(100), np.zeros(100), 1 - stance_p], axis=1)
    rule = choose_threshold(probabilities, gold, LABELS, target_precision=0.9, none_rate=0.87)
    assert rule.threshold is not None and rule.threshold > 0.5
    assert rule.dev_precision >= 0.9
    decided = rule.decide(probabilities, LABELS)
    calls = decided != LABELS.index("none")
    assert np.all(stance_p[calls] >= rule.threshold)
    # The stance label is the most probable stance, even when none is more probable than it.
    mixed = np.array([[0.3, 0.35, 0.0, 0.35]])
    assert DecisionRule(threshold=0.6).decide(mixed, LABELS).tolist() == [1]
    assert DecisionRule(threshold=0.7).decide(mixed, LABELS).tolist() == [3]
    assert DecisionRule().decide(mixed, LABELS).tolist() == [1]  # argmax: first of the ties


def test_threshold_never_goes_below_the_floor_even_when_dev_would_allow_it():
    # An easy dev set: every stance item is far from every none item, so any threshold reaches
    # the target and the lowest would be chosen; the floor keeps "less likely than none" out.
    gold = ["reject"] * 20 + ["none"] * 80
    stance_p = np.concatenate([np.full(20, 0.3), np.full(80, 0.01)])
    probabilities = np.stack([np.zeros(100), stance_p, np.zeros(100), 1 - stance_p], axis=1)
    unbounded = choose_threshold(probabilities, gold, LABELS, 0.8, 0.87)
    assert unbounded.threshold < 0.5
    floored = choose_threshold(probabilities, gold, LABELS, 0.8, 0.87, min_threshold=0.5)
    assert floored.threshold >= 0.5
    assert (floored.decide(probabilities, LABELS) == LABELS.index("none")).all()


def test_gate_fails_below_article_floors_and_when_figures_are_missing():
    report = {
        "test": {"models": {"finetuned": {"macro_f1": 0.9}}, "best_baseline": None},
        "gate": {
            "macro_f1_floor": 0.5,
            "against_best_baseline": True,
            "article_precision_floor": 0.7,
            "article_f1_floor": 0.6,
        },
        "articles": {
            "models": {"finetuned": {"all": {"stance_precision": 0.5, "stance_f1": None}}}
        },
    }
    failures = check_gate(report)
    assert failures == [
        "fine-tuned article-level stance precision 0.500 is below the floor 0.700 "
        "(evaluate.article_precision_floor)",
        "fine-tuned article-level stance f1 n/a is below the floor 0.600 "
        "(evaluate.article_f1_floor)",
    ]
    report["articles"] = {"skipped": "folder not found"}
    assert check_gate(report) == []


def test_evaluate_articles_command_writes_figures_and_curve(trained_toy_model, tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import cli

    folder = _gold_folder(tmp_path)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--model",
            str(trained_toy_model.model_dir),
            "--articles",
            str(folder),
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "| finetuned | all (2) |" in result.output
    report = json.loads((out / "metrics.json").read_text())
    assert report["articles"]["n_articles"] == 2
    assert set(report["articles"]["models"]["finetuned"]) == {
        "all",
        "talks",
        "unrelated",
        "passing+unrelated",
    }
    assert "pr_curves" not in report["articles"]
    assert (out / "articles_pr_curve.png").stat().st_size > 1000


def test_target_accuracy_counts_matched_stance_passages_with_a_gold_target(tmp_path):
    folder = tmp_path / "gold"
    folder.mkdir()
    text = (
        "The Taliban said they were ready for talks with Washington. "
        "The Taliban refused any talks with Kabul. "
        "Washington said it was ready for talks."
    )
    actors = ActorDictionary(
        {
            "Taliban": ["Taliban"],
            "United States": ["Washington", "US"],
            "Afghan Government": ["Kabul"],
        }
    )
    # Gold: right ("US" is the dictionary's United States), one of several ("; "), and a
    # sentence without a gold target, which is not counted.
    targets = {0: "US", 1: "Pakistan; Afghan Government", 2: ""}
    rows = _sentences(
        "t1", text, ["accept", "reject", "accept"], {0: "Taliban", 1: "Taliban", 2: "US"}
    )
    for index, row in enumerate(rows):
        row["target"] = targets[index]
    (folder / "articles.jsonl").write_text(json.dumps({"id": "t1", "text": text}) + "\n")
    (folder / "sentences.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    articles, problems = read_gold_articles(folder)
    assert problems == []
    documents = read_as_predict_does(folder, articles, 10_000_000)
    results, matched = evaluate_on_articles(
        {"fake": KeywordModel()}, articles, documents, SegmentOptions(), actors, samples=50
    )
    assert [m.target for m in matched["fake"]] == [
        "United States",
        "Afghan Government",
        "Taliban",  # the article's other main party; its gold sentence names no target
    ]
    overall = results["fake"]["all"]
    assert overall["n_true_stance_calls"] == 3
    assert overall["n_true_stance_calls_with_gold_target"] == 2
    assert overall["target_accuracy"] == 1.0
    assert overall["ci95"]["target_accuracy"] == [1.0, 1.0]


def test_article_report_shows_target_accuracy_beside_holder_accuracy():
    from pipeline.evaluation_report import article_markdown

    figures = {"n_articles": 1, "n_predicted_stance": 2, "holder_accuracy": 0.5}
    lines = article_markdown(
        {
            "n_articles": 1,
            "folder": "gold",
            "decision": {"rule": "argmax"},
            "models": {"m": {"all": {**figures, "target_accuracy": 0.25}}},
        }
    )
    assert "| holder acc. | target acc. |" in lines[5]
    assert lines[-1].startswith("| m | all (1) | n/a | n/a | n/a | n/a | 0.500 | 0.250 |")
