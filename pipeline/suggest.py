"""Active learning: which passages should people label next?

The model scores every passage; the most uncertain ones (highest entropy, or smallest margin
between the two best labels) are proposed, spread across articles (at most `per_article` from
one article) and without near-duplicates, plus a random share that keeps the labelled sample
representative (uncertainty sampling alone over-represents hard cases, which biases estimates).
"""

from __future__ import annotations

import hashlib
import heapq
import os
import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from pipeline.annotations import (
    CONDITION_TO_STATE,
    MODEL_ANNOTATOR,
    NEAR_DUPLICATE_SIMILARITY,
    Statement,
    near_duplicate_vectors,
)
from pipeline.labels import LABELS
from pipeline.prediction.rows import PROBABILITY_COLUMNS

STRATEGIES = ("entropy", "margin")


def uncertainty(probabilities: np.ndarray, strategy: str) -> np.ndarray:
    """Higher means less sure: entropy, or 1 - (best - second best)."""
    if strategy == "entropy":
        clipped = np.clip(probabilities, 1e-12, 1)
        return -(clipped * np.log(clipped)).sum(axis=1)
    if strategy == "margin":
        ordered = np.sort(probabilities, axis=1)
        return 1 - (ordered[:, -1] - ordered[:, -2])
    raise ValueError(f"unknown strategy {strategy!r} (expected one of {', '.join(STRATEGIES)})")


def _near_duplicate(text: str, kept: list[str]) -> bool:
    if not kept:
        return False
    vectors = near_duplicate_vectors([text, *kept])
    return bool((vectors[1:] @ vectors[0].T).max() >= NEAR_DUPLICATE_SIMILARITY)


def select(
    rows: Iterable[dict],
    n: int,
    strategy: str = "entropy",
    random_share: float = 0.1,
    per_article: int = 3,
    seed: int = 13,
) -> list[tuple[dict, str, float]]:
    """Pick passages to label: (row, "uncertain" or "random", uncertainty score).

    Streams `rows` (passage records from scoring) keeping a bounded pool of the most uncertain
    and a reservoir sample for the random share, so memory does not grow with the corpus.
    """
    n_random = int(round(n * random_share))
    n_uncertain = n - n_random
    pool: list[tuple[float, int, dict]] = []
    reservoir: list[dict] = []
    rng = random.Random(seed)
    pool_size = max(4 * n_uncertain, 50)
    for count, row in enumerate(rows):
        probs = np.array([[row[c] for c in PROBABILITY_COLUMNS]])
        score = float(uncertainty(probs, strategy)[0])
        item = (score, -count, row)
        if len(pool) < pool_size:
            heapq.heappush(pool, item)
        else:
            heapq.heappushpop(pool, item)
        if len(reservoir) < max(4 * n_random, 1):
            reservoir.append(row)
        else:
            slot = rng.randint(0, count)
            if slot < len(reservoir):
                reservoir[slot] = row
    chosen: list[tuple[dict, str, float]] = []
    per_doc: dict[str, int] = {}
    texts: list[str] = []
    for score, _, row in sorted(pool, reverse=True):
        if len(chosen) >= n_uncertain:
            break
        if per_doc.get(row["doc_id"], 0) >= per_article or _near_duplicate(row["text"], texts):
            continue
        chosen.append((row, "uncertain", score))
        per_doc[row["doc_id"]] = per_doc.get(row["doc_id"], 0) + 1
        texts.append(row["text"])
    taken = {row["passage_id"] for row, _, _ in chosen}
    rng.shuffle(reservoir)
    for row in reservoir:
        if len(chosen) >= n:
            break
        if row["passage_id"] in taken or _near_duplicate(row["text"], texts):
            continue
        probs = np.array([[row[c] for c in PROBABILITY_COLUMNS]])
        chosen.append((row, "random", float(uncertainty(probs, strategy)[0])))
        taken.add(row["passage_id"])
        texts.append(row["text"])
    return chosen


def to_statement(
    row: dict, how: str, score: float, strategy: str, source: str, model_name: str
) -> Statement:
    """A suggestion in the annotation format: the model's label, for a person to confirm."""
    label = row["label"]
    holder = "" if label == "none" else (row["holder"] or "unknown")
    digest = hashlib.sha1(f"{row['passage_id']}".encode()).hexdigest()[:10]
    date, date_note = annotation_date(row.get("date"))
    return Statement(
        id=f"suggest-{digest}",
        text=row["text"],
        label=label,
        holder=holder,
        condition=CONDITION_TO_STATE if label == "conditional" else "",
        doc_id=row["doc_id"],
        source=source,
        date=date,
        char_start=row["start"],
        char_end=row["end"],
        annotator=f"{MODEL_ANNOTATOR}{model_name}",
        note=f"suggested ({how}, {strategy} {score:.3f}); confirm or correct the label" + date_note,
        probabilities={label_: round(float(row[f"p_{label_}"]), 4) for label_ in LABELS},
    )


def annotation_date(value: str | None) -> tuple[str | None, str]:
    """An article's date as the annotation format wants it (YYYY-MM-DD; the day of a full
    timestamp), and a note when it is not a date: articles may carry any date text, and one
    bad date must not stop a suggestion run."""
    import datetime as dt

    if not value:
        return None, ""
    for parse in (dt.date.fromisoformat, lambda text: dt.datetime.fromisoformat(text).date()):
        try:
            return parse(value.strip()).isoformat(), ""
        except ValueError:
            continue
    return None, f"; the article's date {value[:40]!r} is not a date (YYYY-MM-DD): left out"


def source_name(document_input: str) -> str:
    """The `source` of a suggestion: its file's path below the nearest folder named `sources`,
    else its file name. `validate` reads sources only inside the annotation tree's `sources/`
    folder (or `--sources FOLDER`), so a source is a name in that folder, never an absolute path.
    """
    if not document_input:
        return "unknown"
    path = Path(os.path.abspath(document_input))  # symbolic links kept: the name is what counts
    for folder in path.parents:
        if folder.name == "sources":
            return path.relative_to(folder).as_posix()
    return path.name
