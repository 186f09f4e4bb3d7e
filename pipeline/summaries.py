"""Per-article, per-actor-month and holder -> target dyad summaries of scored passages.

All are computed in one streaming pass over the passage rows (a document's passages are
contiguous), so memory stays bounded by the number of (actor, month) and (holder, target, month)
cells, not the corpus.
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
    summary.update(story_fields(document))
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


def story_fields(document: dict) -> dict:
    """The story columns of an article row; an article without a story is its own."""
    import json

    return {
        "story_id": document.get("story_id") or document.get("doc_id", ""),
        "story_size": int(document.get("story_size") or 1),
        "story_outlets": document.get("story_outlets") or json.dumps([], ensure_ascii=False),
    }


class CountedKeys:
    """Keys counted so far, in memory (`pipeline.dedup.StoryIndex` keeps them on disk)."""

    def __init__(self):
        self._keys: set[tuple] = set()

    def first_time(self, key: tuple) -> bool:
        """Whether `key` is seen for the first time (and remember it)."""
        if key in self._keys:
            return False
        self._keys.add(key)
        return True


class StoryCounter:
    """Counts stories into table cells: a story once per cell and label, with `n_stories` (any
    label) and `n_stories_<label>` beside the cell's passage counts.

    A story (an article and its wire copies, `pipeline.dedup`) counts once however many
    outlets printed it. Stories of several articles are remembered in `counted` (anything with
    `first_time(key) -> bool`); its keys start with `table`, so several tables can share one
    store without counting each other's stories. A story of one article is counted within the
    `count` call that holds its passages, so a call must get all passages of an article at once
    (a shard does).
    """

    def __init__(self, table: str, counted=None):
        self._table = table
        self._counted = counted if counted is not None else CountedKeys()

    def count(self, cells: Iterable[tuple[tuple, dict, dict]]) -> None:
        """Count the story of each `(cell key, cell, passage row)`; `story_id` and
        `story_size` default to the row's own article."""
        seen_here: set[tuple] = set()
        for key, cell, row in cells:
            story = str(row.get("story_id") or row.get("doc_id") or "")
            for counter in ("n_stories", f"n_stories_{row['label']}"):
                story_key = (self._table, *key, counter, story)
                if story_key in seen_here:
                    continue
                seen_here.add(story_key)
                if (row.get("story_size") or 1) > 1 and not self._counted.first_time(story_key):
                    continue
                cell[counter] += 1


def story_columns(cell: dict, labels: Iterable[str]) -> dict:
    """A cell's story counts as record columns: `n_stories`, then `n_stories_<label>`."""
    columns = {"n_stories": int(cell.get("n_stories", 0))}
    columns.update(
        {f"n_stories_{label}": int(cell.get(f"n_stories_{label}", 0)) for label in labels}
    )
    return columns


class ActorMonthTable:
    """Accumulates, per (actor, month), story and passage counts and probability sums.

    Stories count as `StoryCounter` counts them (a wire story once per actor, month and label);
    passages count every copy. `counted` is the store of counted stories (see `StoryCounter`);
    `add` must get all passages of an article at once.
    """

    def __init__(self, counted=None):
        self._cells: dict[tuple[str, str], dict[str, float]] = {}
        self._stories = StoryCounter("actors", counted)

    def add(self, rows: Iterable[dict]) -> None:
        """Count passage rows; `story_id` and `story_size` default to the row's own article."""
        counted = []
        for row in rows:
            key = (row["holder"], month_of(row.get("date") or ""))
            cell = self._cells.setdefault(key, defaultdict(float))
            cell["n_passages"] += 1
            cell[f"n_{row['label']}"] += 1
            for column in PROBABILITY_COLUMNS:
                cell[column] += row[column]
            counted.append((key, cell, row))
        self._stories.count(counted)

    def records(self) -> list[dict]:
        out = []
        for (actor, month), cell in sorted(self._cells.items()):
            n = cell["n_passages"]
            record = {"actor": actor, "month": month, **story_columns(cell, LABELS)}
            record["n_passages"] = int(n)
            record.update({f"n_{label}": int(cell.get(f"n_{label}", 0)) for label in LABELS})
            record.update({f"mean_{c}": round(cell[c] / n, 6) for c in PROBABILITY_COLUMNS})
            out.append(record)
        return out


class DyadMonthTable:
    """Accumulates, per (holder, target, month), story and passage counts of stance passages:
    who takes which stance toward whom. Passages without a target (every `none` passage) are
    left out.

    Stories count as `StoryCounter` counts them (a wire story's stance toward a target once per
    month and label, however many outlets printed it); passages count every copy. `counted` is
    the store of counted stories, which may be the actor table's (see `StoryCounter`); `add`
    must get all passages of an article at once.
    """

    def __init__(self, counted=None):
        self._cells: dict[tuple[str, str, str], dict[str, int]] = {}
        self._stories = StoryCounter("dyads", counted)

    def add(self, rows: Iterable[dict]) -> None:
        """Count passage rows; `story_id` and `story_size` default to the row's own article."""
        counted = []
        for row in rows:
            if row["label"] not in STANCE_LABELS or not row.get("target"):
                continue
            key = (row["holder"], row["target"], month_of(row.get("date") or ""))
            cell = self._cells.setdefault(key, defaultdict(int))
            cell["n_passages"] += 1
            cell[f"n_{row['label']}"] += 1
            counted.append((key, cell, row))
        self._stories.count(counted)

    def records(self) -> list[dict]:
        """Rows in DYAD_SCHEMA order, sorted by holder, target and month."""
        return [
            {
                "holder": holder,
                "target": target,
                "month": month,
                **story_columns(cell, STANCE_LABELS),
                "n_passages": cell["n_passages"],
                **{f"n_{label}": cell[f"n_{label}"] for label in STANCE_LABELS},
            }
            for (holder, target, month), cell in sorted(self._cells.items())
        ]
