"""Deterministic train/dev/test splits that never separate statements of one document.

A split is a function of the data, the seed and the fractions, never a committed copy, so adding
annotations and re-running gives a split that is reproducible from the recorded seed and hashes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.annotations import Statement, load_statements
from pipeline.errors import DataError


@dataclass(frozen=True)
class Split:
    """Three disjoint lists of statements; no `doc_id` appears in more than one."""

    train: list[Statement]
    dev: list[Statement]
    test: list[Statement]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "dev": len(self.dev), "test": len(self.test)}


def _check_fractions(dev_fraction: float, test_fraction: float) -> None:
    if not (0 < dev_fraction < 1 and 0 < test_fraction < 1 and dev_fraction + test_fraction < 1):
        raise DataError(
            f"split fractions must be in (0, 1) and sum below 1 "
            f"(dev={dev_fraction}, test={test_fraction})"
        )


def _one_fold(
    statements: Sequence[Statement], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Hold out about `fraction` of the statements, whole groups only, stratified by label."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [s.doc_id for s in statements]
    n_groups = len(set(groups))
    n_splits = max(2, min(round(1 / fraction), n_groups))
    if n_groups < 2:
        raise DataError(f"need at least 2 distinct doc_id groups to split, found {n_groups}")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    labels = [s.label for s in statements]
    rest, held = next(folds.split(np.zeros(len(statements)), labels, groups))
    return rest.tolist(), held.tolist()


def split_by_group(
    statements: Sequence[Statement],
    seed: int,
    dev_fraction: float = 0.1,
    test_fraction: float = 0.15,
) -> Split:
    """Split into train/dev/test by `doc_id` groups, stratified by label, seeded.

    Uses scikit-learn's StratifiedGroupKFold twice: first to hold out the test groups, then the
    dev groups from what remains. The same statements, seed and fractions give the same split.

    Raises:
        DataError: fractions are out of range or there are too few groups.
    """
    _check_fractions(dev_fraction, test_fraction)
    ordered = sorted(statements, key=lambda s: s.id)
    rest_idx, test_idx = _one_fold(ordered, test_fraction, seed)
    rest = [ordered[i] for i in rest_idx]
    train_idx, dev_idx = _one_fold(rest, dev_fraction / (1 - test_fraction), seed + 1)
    return Split(
        train=[rest[i] for i in train_idx],
        dev=[rest[i] for i in dev_idx],
        test=[ordered[i] for i in test_idx],
    )


def split_chronologically(
    statements: Sequence[Statement], dev_fraction: float = 0.1, test_fraction: float = 0.15
) -> Split:
    """Train on the oldest documents, test on the newest: how a model ages on future news.

    Each `doc_id` group is dated by the median date of its statements; groups without any date
    go to train (they cannot be placed in time). Groups are cut at the dev and test fractions of
    the statement count.
    """
    _check_fractions(dev_fraction, test_fraction)
    by_group: dict[str, list[Statement]] = defaultdict(list)
    for statement in statements:
        by_group[statement.doc_id].append(statement)

    def group_date(items: list[Statement]) -> dt.date:
        dates = sorted(dt.date.fromisoformat(s.date) for s in items if s.date)
        return dates[len(dates) // 2] if dates else dt.date.min

    ordered_groups = sorted(by_group, key=lambda g: (group_date(by_group[g]), g))
    total = len(statements)
    train: list[Statement] = []
    dev: list[Statement] = []
    test: list[Statement] = []
    seen = 0
    for group in ordered_groups:
        items = sorted(by_group[group], key=lambda s: s.id)
        position = seen / total
        if position < 1 - dev_fraction - test_fraction:
            train.extend(items)
        elif position < 1 - test_fraction:
            dev.extend(items)
        else:
            test.extend(items)
        seen += len(items)
    if not dev or not test:
        raise DataError("chronological split left dev or test empty: too few dated groups")
    return Split(train=train, dev=dev, test=test)


def make_split(
    statements: Sequence[Statement],
    method: str,
    seed: int,
    dev_fraction: float,
    test_fraction: float,
) -> Split:
    """Dispatch on the config's split method (`group` or `chronological`)."""
    if method == "group":
        return split_by_group(statements, seed, dev_fraction, test_fraction)
    if method == "chronological":
        return split_chronologically(statements, dev_fraction, test_fraction)
    raise DataError(f"unknown split method {method!r} (expected 'group' or 'chronological')")


def split_for_config(config) -> tuple[list[Statement], Split]:
    """A run config's statements and their split: the one `train` and `evaluate` share."""
    statements = load_statements(config.data.paths)
    data = config.data
    return statements, make_split(
        statements, data.split, config.seed, data.dev_fraction, data.test_fraction
    )
