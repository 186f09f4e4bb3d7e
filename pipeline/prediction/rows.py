"""The row contract of `stance predict`: what a document, a passage, an article summary and an
actor-month row hold, the files a run writes beside OUT, and the one reader of those files.

Engines, the summaries, the report, `--show` and the tests all import these definitions, so a
new output column is one edit here (plus its test): `Passage` if it comes from segmentation,
`passage_records` and `PASSAGE_SCHEMA` for the row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.errors import PipelineError
from pipeline.labels import LABELS
from pipeline.outputs import output_format

PROBABILITY_COLUMNS = tuple(f"p_{label}" for label in LABELS)
# The metadata of a document that travels into shard sidecars and article summaries.
DOCUMENT_FIELDS = ("doc_id", "title", "date", "source", "url", "input", "language")

PASSAGE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("passage_id", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("text", pa.string()),
        ("label", pa.string()),
        ("confidence", pa.float64()),
        *[(c, pa.float64()) for c in PROBABILITY_COLUMNS],
        ("holder", pa.string()),
        ("date", pa.string()),
    ]
)
ARTICLE_SCHEMA = pa.schema(
    [
        *[(field, pa.string()) for field in DOCUMENT_FIELDS],
        ("n_passages", pa.int64()),
        *[(f"n_{label}", pa.int64()) for label in LABELS],
        ("stance_by_holder", pa.string()),
        ("strongest_passages", pa.string()),
    ]
)
ACTOR_SCHEMA = pa.schema(
    [
        ("actor", pa.string()),
        ("month", pa.string()),
        ("n_passages", pa.int64()),
        *[(f"n_{label}", pa.int64()) for label in LABELS],
        *[(f"mean_{column}", pa.float64()) for column in PROBABILITY_COLUMNS],
    ]
)


@dataclass(frozen=True)
class Passage:
    """A passage before scoring, with the context a context-reading model needs.

    Every field is plain data, so engines can ship passages between processes as
    `dataclasses.asdict` dicts and rebuild them with `Passage(**record)` without losing one.
    """

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    holder: str
    date: str
    previous: str = ""  # the sentence before the passage (context for models that read it)
    headline: str = ""  # the document's title or first line


def document_metadata(document) -> dict:
    """The DOCUMENT_FIELDS of a document (an `articles.Document`), as stored in shard sidecars."""
    return {field: getattr(document, field) for field in DOCUMENT_FIELDS}


def passage_records(
    batch: Sequence[Passage],
    probabilities: np.ndarray,
    decided: np.ndarray | None = None,
    labels: Sequence[str] = LABELS,
) -> list[dict]:
    """Passage rows in PASSAGE_SCHEMA order, from passages, their probabilities (columns in
    `labels` order) and the label index the model's decision rule chose (argmax if not given).
    """
    if decided is None:
        decided = np.asarray(probabilities).argmax(axis=1)
    rows = []
    for passage, probs, best in zip(batch, probabilities, decided, strict=True):
        best = int(best)
        row = {
            "doc_id": passage.doc_id,
            "passage_id": f"{passage.doc_id}#{passage.index}",
            "start": passage.start,
            "end": passage.end,
            "text": passage.text,
            "label": labels[best],
            "confidence": round(float(probs[best]), 6),
        }
        row.update(
            {
                column: round(float(p), 6)
                for column, p in zip(PROBABILITY_COLUMNS, probs, strict=True)
            }
        )
        row["holder"] = passage.holder
        row["date"] = passage.date
        rows.append(row)
    return rows


@dataclass(frozen=True)
class OutputPaths:
    """Every file a predict run writes, derived from OUT."""

    passages: Path
    articles: Path
    actors: Path
    errors: Path
    manifest: Path
    parts: Path

    @classmethod
    def for_output(cls, output: str | Path) -> OutputPaths:
        output = Path(output)
        output_format(output)
        stem = output.with_suffix("")
        return cls(
            passages=output,
            articles=Path(f"{stem}.articles{output.suffix}"),
            actors=Path(f"{stem}.actors.csv"),
            errors=Path(f"{stem}.errors.jsonl"),
            manifest=Path(f"{stem}.manifest.json"),
            parts=Path(f"{stem}.parts"),
        )

    def written(self) -> dict[str, str]:
        """The finished outputs by name, as the manifest lists them (work folders left out)."""
        return {name: str(path) for name, path in vars(self).items() if name != "parts"}


def output_files(paths: OutputPaths) -> list[Path]:
    """Every path a run writes, including its work folder (checked against the inputs)."""
    return list(vars(paths).values())


DAMAGED_HINT = "rerun `stance predict` with --overwrite to write it again"


def read_table(path: Path, columns: Sequence[str]):
    """One output table as a pandas DataFrame; an empty one still has its columns, and CSV text
    cells get back the exact text `stance predict` scored (`outputs.restore_csv_cell`).

    Raises:
        PipelineError: the file is damaged (unreadable, or without the columns predict
            writes); names it, and the line for JSON Lines.
    """
    import pandas as pd

    from pipeline.outputs import restore_csv_cell

    path = Path(path)
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif path.suffix == ".csv":
            frame = pd.read_csv(path, keep_default_na=False, dtype={"date": str, "month": str})
            for column in frame.select_dtypes(include=["object", "string"]).columns:
                frame[column] = frame[column].map(restore_csv_cell)
        else:
            # Values keep their JSON types: pandas would otherwise parse a "date" column itself,
            # turning 2024-13-45 into NaT without a word.
            frame = pd.read_json(path, lines=True, dtype=False)
    except (ValueError, OSError) as exc:  # parser, Arrow, JSON and decode errors are ValueErrors
        raise PipelineError(f"{describe_damage(path, exc)}; {DAMAGED_HINT}") from None
    if frame.empty:
        return frame.reindex(columns=list(columns))
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PipelineError(
            f"{path}: missing column(s) {', '.join(missing)}: not a table written by "
            f"`stance predict`; {DAMAGED_HINT}"
        )
    return frame


def read_passages(path: str | Path) -> list[dict]:
    """The passage rows of a predict output (any format), as dicts in file order."""
    return read_table(Path(path), PASSAGE_SCHEMA.names).to_dict("records")


def read_manifest(path: Path) -> dict:
    """A run manifest.

    Raises:
        PipelineError: unreadable, or not a JSON object.
    """
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(f"{path}: unreadable run manifest ({exc}); {DAMAGED_HINT}") from None
    if not isinstance(manifest, dict):
        raise PipelineError(f"{path}: not a run manifest (expected a JSON object); {DAMAGED_HINT}")
    return manifest


def describe_damage(path: Path, error: Exception) -> str:
    """Where and how a predict output is damaged: the first bad line of a JSON Lines file,
    else the reader's own reason."""
    if path.suffix == ".jsonl":
        from pipeline.jsonl import iter_jsonl_objects

        for _, item in iter_jsonl_objects(path):
            if not isinstance(item, dict):
                return str(item)
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"{path}: unreadable ({reason})"
