"""Corpus statistics: how many statements per label, source, conflict and holder."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from pipeline.annotations import AUTHORED, Statement
from pipeline.labels import LABELS

STAT_FIELDS = ("label", "source", "section", "conflict", "holder")


def label_counts_by(statements: Sequence[Statement], field: str) -> dict[str, Counter]:
    """For each value of `field`, a Counter of labels; values sorted by total, largest first.

    Seed sources are grouped as `seed:<file>`, so the table separates authored from seed text.
    """
    table: dict[str, Counter] = defaultdict(Counter)
    for statement in statements:
        value = getattr(statement, field) or "(empty)"
        if field == "source" and value != AUTHORED:
            value = f"seed:{value}"
        table[value][statement.label] += 1
    return dict(sorted(table.items(), key=lambda item: (-sum(item[1].values()), item[0])))


def format_table(title: str, table: dict[str, Counter]) -> str:
    """A plain-text table with a total column and one column per label."""
    width = max([len(title), *(len(key) for key in table)])
    header = f"{title:<{width}}  {'total':>6}" + "".join(f"  {lab:>11}" for lab in LABELS)
    lines = [header, "-" * len(header)]
    for key, counts in table.items():
        lines.append(
            f"{key:<{width}}  {sum(counts.values()):>6}"
            + "".join(f"  {counts.get(lab, 0):>11}" for lab in LABELS)
        )
    return "\n".join(lines)
