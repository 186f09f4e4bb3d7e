"""The row contract of `stance predict`: what a document, a passage, an article summary and an
actor-month row hold, the files a run writes beside OUT, and the one reader of those files.

Engines, the summaries, the report, `--show` and the tests all import these definitions, so a
new output column is one edit here (plus its test): `Passage` if it comes from segmentation,
`passage_records` and `PASSAGE_SCHEMA` for the row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.errors import PipelineError, Problem
from pipeline.labels import LABELS, STANCE_LABELS
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
        # The other party of the talks (`actors.attribute_target`); "" for `none` passages.
        ("target", pa.string()),
        # The words the party extractor found for the holder and the target (`pipeline.parties`):
        # kept when they name no actor the dictionary knows (`holder` is then ""); "" where the
        # dictionary rules decided.
        ("holder_text", pa.string()),
        ("target_text", pa.string()),
        ("date", pa.string()),
    ]
)
ARTICLE_SCHEMA = pa.schema(
    [
        *[(field, pa.string()) for field in DOCUMENT_FIELDS],
        # The article's story (`pipeline.dedup`): the doc_id of its first copy in input order,
        # how many articles print it, and their outlets as a JSON list.
        ("story_id", pa.string()),
        ("story_size", pa.int64()),
        ("story_outlets", pa.string()),
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
        # Stories count a wire story once however many outlets printed it; passages every copy.
        ("n_stories", pa.int64()),
        *[(f"n_stories_{label}", pa.int64()) for label in LABELS],
        ("n_passages", pa.int64()),
        *[(f"n_{label}", pa.int64()) for label in LABELS],
        *[(f"mean_{column}", pa.float64()) for column in PROBABILITY_COLUMNS],
    ]
)
# Holder -> target dyads per month: who takes which stance toward whom (stance passages with a
# target only; `summaries.DyadMonthTable`). Stories count a wire story once, passages every copy.
DYAD_SCHEMA = pa.schema(
    [
        ("holder", pa.string()),
        ("target", pa.string()),
        ("month", pa.string()),
        ("n_stories", pa.int64()),
        *[(f"n_stories_{label}", pa.int64()) for label in STANCE_LABELS],
        ("n_passages", pa.int64()),
        *[(f"n_{label}", pa.int64()) for label in STANCE_LABELS],
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
    target: str = ""  # the other party, attributed with the holder; kept for stance rows only
    # The preceding sentences (nearest last), read by the party extractor on stance passages.
    context: tuple[str, ...] = ()
    holder_text: str = ""  # the extractor's words for the holder (`pipeline.parties`)
    target_text: str = ""
    # The parties the whole document names, most often first (`actors.document_parties`).
    document_parties: tuple[str, ...] = ()


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
        # A `none` passage holds no stance, so it has no party the stance is toward.
        row["target"] = "" if row["label"] == "none" else passage.target
        row["holder_text"] = passage.holder_text
        row["target_text"] = "" if row["label"] == "none" else passage.target_text
        row["date"] = passage.date
        rows.append(row)
    return rows


@dataclass(frozen=True)
class OutputPaths:
    """Every file a predict run writes, derived from OUT."""

    passages: Path
    articles: Path
    actors: Path
    dyads: Path
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
            dyads=Path(f"{stem}.dyads.csv"),
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


def iter_output_rows(
    path: str | Path, columns: Sequence[str]
) -> Iterator[tuple[int, dict | Problem]]:
    """(line, row or problem) for each row of a predict output table, streaming, in file order.

    Unlike `read_table`, a bad row costs that row only, so a command that turns rows into
    something else (`stance export-events`) can report it and go on. The number is the line a
    JSON Lines record or CSV row starts on, or the row of a Parquet file (from 1). CSV cells are
    text, with the exact text restored (`outputs.restore_csv_cell`); a JSON Lines row may lack
    a column (the caller checks its rows).

    Raises:
        PipelineError: the file cannot be read, or its CSV header or Parquet schema lacks one of
            `columns` (not a table `stance predict` wrote).
    """
    path = Path(path)
    fmt = output_format(path)
    try:
        if fmt == "jsonl":
            from pipeline.jsonl import iter_jsonl_objects

            yield from iter_jsonl_objects(path)
        elif fmt == "csv":
            yield from _iter_csv_rows(path, columns)
        else:
            yield from _iter_parquet_rows(path, columns)
    except OSError as exc:
        raise PipelineError(
            f"{path}: cannot read ({exc.strerror or exc}); {DAMAGED_HINT}"
        ) from None


def _check_columns(path: Path, present: Sequence[str], columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in present]
    if missing:
        raise PipelineError(
            f"{path}: missing column(s) {', '.join(missing)}: not a table written by "
            f"`stance predict`; {DAMAGED_HINT}"
        )


def _iter_csv_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict | Problem]]:
    """CSV rows through the input reader (`records.iter_records`: true line numbers, a bad byte
    or row costs that row), after checking the header."""
    import csv

    from pipeline.compressed import Source
    from pipeline.outputs import restore_csv_cell
    from pipeline.records import iter_records

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = next(csv.reader(handle), None)
    if header is None:  # an empty file: no rows
        return
    _check_columns(path, header, columns)
    for line, row in iter_records(Source(path, ".csv"), {"text": columns[0]}):
        if isinstance(row, dict):
            yield line, {key: restore_csv_cell(value) for key, value in row.items()}
        else:
            yield line, Problem(str(path), line, "row", row.reason)


def _iter_parquet_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict | Problem]]:
    """Parquet rows in batches, numbered from 1; a damaged row group ends the file with a
    problem naming the first row not read."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, ValueError) as exc:
        raise PipelineError(f"{describe_damage(path, exc)}; {DAMAGED_HINT}") from None
    _check_columns(path, parquet.schema_arrow.names, columns)
    number = 0
    try:
        for batch in parquet.iter_batches():
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except pa.ArrowException as exc:
        reason = f"unreadable Parquet from row {number + 1} on ({exc}); {DAMAGED_HINT}"
        yield number + 1, Problem(str(path), number + 1, "row", reason)
