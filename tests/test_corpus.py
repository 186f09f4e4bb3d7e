"""The shipped corpus: valid, and large and varied enough to train and test on."""

from __future__ import annotations

from collections import Counter

from conftest import REPO

from pipeline.annotations import validate


def test_shipped_annotations_validate_and_meet_the_counts():
    records, problems = validate([REPO / "annotations"])
    assert [str(p) for p in problems] == []
    statements = [r.statement for r in records]
    authored = [s for s in statements if s.source == "authored"]
    seeds = [s for s in statements if s.source != "authored"]
    assert len(authored) >= 800
    per_label = Counter(s.label for s in authored)
    assert min(per_label[label] for label in ("accept", "reject", "conditional", "none")) >= 150
    outside = sum(1 for s in authored if s.conflict != "Afghanistan")
    assert outside >= len(authored) / 2
    assert {s.source for s in seeds} == {
        p.name for p in (REPO / "annotations/sources").glob("*.txt")
    }
    assert all(s.conflict for s in statements if s.label != "none"), "a stance has a conflict"
    assert all(s.date for s in authored), "authored statements carry a plausible date"


def test_corpus_looks_like_the_news_users_score():
    """Ordinary news and context sentences, not only near-misses about talks (issue 10)."""
    records, _ = validate([REPO / "annotations"])
    statements = [r.statement for r in records]
    ordinary = [s for s in statements if s.label == "none" and s.section]
    assert len(ordinary) >= 3000
    sections = Counter(s.section for s in ordinary)
    for section in (
        "conflict",
        "politics",
        "business",
        "economy",
        "sport",
        "technology",
        "science",
        "health",
        "crime",
        "disasters",
        "culture",
        "weather",
        "furniture",
        "talks",
    ):
        assert sections[section] >= 20, section
    realistic_stance = [s for s in statements if s.label != "none" and s.section]
    assert len(realistic_stance) >= 600
