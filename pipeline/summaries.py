"""Per-article and per-actor-month summaries of scored passages.

Both are computed in one streaming pass over the passage rows (a document's passages are
contiguous), so memory stays bounded by the number of (actor, month) cells, not the corpus.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from pipeline.labels import LABELS, STANCE_LABELS
from pipeline.prediction.rows import DOCUMENT_FIELDS, PROBABILITY_COLUMNS

STRONGEST_PER_ARTICLE = 3

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def month_of(date: str) -> str:
    """`YYYY-MM` from an ISO-like date (`YYYY-MM`, `YYYY-MM-DD...`), or `unknown`, also for an
    impossible date such as 2024-13-45."""
    import datetime as dt

    match = _ISO_DATE.match(date) if isinstance(date, str) else None
    if match is None:
        return "unknown"
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month), int(day or 1))
    except ValueError:
        return "unknown"
    return f"{year}-{month}"


def article_summary(document: dict, rows: list[dict]) -> dict:
    """Counts per label, the dominant stance per holder, and the strongest stance passages.

    The dominant stance of a holder is the stance label with the largest summed confidence over
    that holder's stance passages in the article.
    """
    import json

    weight: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        if row["label"] in STANCE_LABELS:
            weight[row["holder"]][row["label"]] += row["confidence"]
    dominant = {holder: max(scores, key=scores.get) for holder, scores in sorted(weight.items())}
    strongest = sorted(
        (r for r in rows if r["label"] in STANCE_LABELS), key=lambda r: -r["confidence"]
    )[:STRONGEST_PER_ARTICLE]
    summary = {key: document.get(key, "") for key in DOCUMENT_FIELDS}
    summary["n_passages"] = len(rows)
    for label in LABELS:
        summary[f"n_{label}"] = sum(1 for r in rows if r["label"] == label)
    summary["stance_by_holder"] = json.dumps(dominant, ensure_ascii=False)
    summary["strongest_passages"] = json.dumps(
        [
            {key: r[key] for key in ("passage_id", "label", "confidence", "holder", "text")}
            for r in strongest
        ],
        ensure_ascii=False,
    )
    return summary


class ActorMonthTable:
    """Accumulates counts and probability sums per (actor, month)."""

    def __init__(self):
        self._cells: dict[tuple[str, str], dict[str, float]] = {}

    def add(self, rows: Iterable[dict]) -> None:
        for row in rows:
            key = (row["holder"], month_of(row.get("date") or ""))
            cell = self._cells.setdefault(key, defaultdict(float))
            cell["n_passages"] += 1
            cell[f"n_{row['label']}"] += 1
            for column in PROBABILITY_COLUMNS:
                cell[column] += row[column]

    def records(self) -> list[dict]:
        out = []
        for (actor, month), cell in sorted(self._cells.items()):
            n = cell["n_passages"]
            record = {"actor": actor, "month": month, "n_passages": int(n)}
            record.update({f"n_{label}": int(cell.get(f"n_{label}", 0)) for label in LABELS})
            record.update({f"mean_{c}": round(cell[c] / n, 6) for c in PROBABILITY_COLUMNS})
            out.append(record)
        return out
