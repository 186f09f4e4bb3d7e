"""Splits: whole documents stay on one side, stratified, reproducible from the seed."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.annotations import Statement
from pipeline.errors import DataError
from pipeline.labels import LABELS
from pipeline.splits import make_split, split_by_group, split_chronologically


def corpus(n_docs: int = 40, per_doc: int = 6) -> list[Statement]:
    statements = []
    for d in range(n_docs):
        for k in range(per_doc):
            label = LABELS[(d + k) % 4]
            statements.append(
                Statement(
                    id=f"d{d:02d}-{k}",
                    text=f"statement {d} {k}",
                    label=label,
                    holder="" if label == "none" else "X",
                    condition="c" if label == "conditional" else "",
                    doc_id=f"doc-{d:02d}",
                    source="authored",
                    annotator="t",
                    date=f"{2000 + d % 20}-0{1 + k % 9}-01",
                )
            )
    return statements


def doc_ids(items: list[Statement]) -> set[str]:
    return {s.doc_id for s in items}


def test_no_document_straddles_splits_and_nothing_is_lost():
    data = corpus()
    split = split_by_group(data, seed=13)
    assert not doc_ids(split.train) & doc_ids(split.dev)
    assert not doc_ids(split.train) & doc_ids(split.test)
    assert not doc_ids(split.dev) & doc_ids(split.test)
    all_ids = [s.id for s in split.train + split.dev + split.test]
    assert sorted(all_ids) == sorted(s.id for s in data)


def test_split_is_deterministic_and_ignores_input_order():
    data = corpus()
    first = split_by_group(data, seed=13)
    again = split_by_group(list(reversed(data)), seed=13)
    assert [s.id for s in first.test] == [s.id for s in again.test]
    assert [s.id for s in first.dev] == [s.id for s in again.dev]
    other = split_by_group(data, seed=14)
    assert {s.id for s in other.test} != {s.id for s in first.test}


def test_split_sizes_follow_fractions_and_every_label_is_everywhere():
    split = split_by_group(corpus(), seed=1, dev_fraction=0.1, test_fraction=0.2)
    sizes = split.sizes()
    total = sum(sizes.values())
    assert abs(sizes["test"] / total - 0.2) < 0.08
    assert abs(sizes["dev"] / total - 0.1) < 0.08
    for part in (split.train, split.dev, split.test):
        assert set(Counter(s.label for s in part)) == set(LABELS)


def test_chronological_split_tests_on_the_newest_documents():
    data = corpus()
    split = split_chronologically(data, dev_fraction=0.1, test_fraction=0.2)

    def group_medians(items):
        by_doc = {}
        for s in items:
            by_doc.setdefault(s.doc_id, []).append(s.date)
        return [sorted(d)[len(d) // 2] for d in by_doc.values()]

    assert max(group_medians(split.train)) <= min(group_medians(split.dev))
    assert max(group_medians(split.dev)) <= min(group_medians(split.test))
    assert sorted(s.id for s in split.train + split.dev + split.test) == sorted(s.id for s in data)


def test_bad_fractions_and_unknown_method():
    with pytest.raises(DataError, match="split fractions must be in"):
        split_by_group(corpus(), seed=1, dev_fraction=0.6, test_fraction=0.5)
    with pytest.raises(DataError, match="unknown split method 'random'"):
        make_split(corpus(), "random", 1, 0.1, 0.1)


def test_too_few_groups():
    data = [s for s in corpus() if s.doc_id == "doc-00"]
    with pytest.raises(DataError, match="need at least 2 distinct doc_id groups"):
        split_by_group(data, seed=1)
