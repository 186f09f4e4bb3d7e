"""Read record files (JSONL, CSV, Parquet) one record at a time, with the line each came from,
and news-please JSON files (one article each).

A bad line or row costs that line only: it becomes an `InputProblem` with its true line number
and the records after it are read. Files come as `Source`s, so a compressed file or a zip member
reads like a plain one. Which field holds the text (and the title, date, ...) is the field mapping
`fields` (`predict.fields`): document field -> record field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping

from pipeline.compressed import Source
from pipeline.inputs import InputProblem
from pipeline.jsonl import iter_jsonl_stream
from pipeline.text import REENCODE_HINT, not_text_reason, undecodable_reason, wide_encoding

# The parts of an article a record may hold; `predict.fields` names the record field of each.
RECORD_FIELDS = ("id", "text", "title", "date", "source", "url", "language")
# How to fix a record file whose text is in a field of another name.
_MAPPING_HINT = "; set predict.fields.text to the field that holds the article text"
# news-please's own field names (https://github.com/fhamborg/news-please, `NewsArticle`).
NEWS_PLEASE_FIELDS = {
    "text": "maintext",
    "title": "title",
    "date": "date_publish",
    "source": "source_domain",
    "url": "url",
    "language": "language",
}


def iter_records(
    source: Source, fields: Mapping[str, str]
) -> Iterator[tuple[int, dict | InputProblem]]:
    """(line or row number, record or problem) for each record of a .jsonl, .csv or .parquet
    source; `fields` maps document fields to record fields (only `text` is required).

    Raises:
        OSError: the file cannot be opened or read (or its compressed stream is damaged).
    """
    if source.format == ".jsonl":
        return _iter_jsonl(source)
    if source.format == ".csv":
        return _iter_csv(source, fields["text"])
    return _iter_parquet(source, fields)


def _iter_jsonl(source: Source) -> Iterator[tuple[int, dict | InputProblem]]:
    """Records of a JSONL file through the shared reader: one bad line costs that line only."""
    with source.open() as handle:
        for line, record in iter_jsonl_stream(handle, source.name):
            if isinstance(record, dict):
                yield line, record
            else:
                yield line, InputProblem(record.path, record.line, record.message)


def parse_news_please(data: bytes, name: str) -> dict | InputProblem:
    """The one article of a news-please JSON file (a JSON object), or why it cannot be read."""
    reason = not_text_reason(data)
    if reason:
        return InputProblem(name, None, reason)
    try:
        article = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return InputProblem(name, *undecodable_reason(data, exc))
    except json.JSONDecodeError as exc:
        return InputProblem(name, exc.lineno, f"invalid JSON: {exc.msg}")
    if not isinstance(article, dict):
        return InputProblem(
            name,
            None,
            "expected one JSON object (a news-please article); for many records write JSON Lines "
            "(.jsonl), one object per line",
        )
    return article


# The csv module refuses fields over 128 KiB by default; an article is often longer. (This limit
# is process-wide in the csv module; raising it only lets longer fields through.)
CSV_FIELD_LIMIT = 2**31 - 1


def _iter_csv(source: Source, text_field: str) -> Iterator[tuple[int, dict | InputProblem]]:
    """Rows of a CSV file with the line each starts on; a row with a non-UTF-8 byte is reported
    and skipped, the rows after it are read.

    Bytes are decoded with `surrogateescape`, so a bad byte never stops the parser (lines stay
    in step) and can be found afterwards in the row's fields.
    """
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    file = source.name
    with source.open() as binary:
        wide = wide_encoding(binary.peek(4096)[:4096])
        if wide:
            yield 1, InputProblem(file, 1, f"{wide} text, not UTF-8; {REENCODE_HINT}")
            return
        handle = io.TextIOWrapper(
            binary, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        reader = csv.reader(handle)
        header, row_start = None, 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield row_start, InputProblem(file, row_start, f"unreadable CSV row ({exc})")
                row_start = reader.line_num + 1
                continue
            line, row_start = row_start, reader.line_num + 1
            if not row:
                continue  # a blank line
            if header is None:
                header = row
                if text_field not in header:
                    columns = ", ".join(repr(c) for c in header)
                    reason = f"CSV header has no {text_field!r} column (columns: {columns})"
                    yield line, InputProblem(file, line, reason + _MAPPING_HINT)
                    return
                continue
            record = dict(zip(header, row, strict=False))
            bad = _undecodable_field(record)
            yield line, InputProblem(file, line, bad) if bad else record


def _undecodable_field(record: dict) -> str | None:
    """The reason a CSV row holds a byte that is not UTF-8 (kept as a lone surrogate), if it does."""
    for field, value in record.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(value[exc.start]) - 0xDC00
            return f"not UTF-8 (invalid byte 0x{byte:02X} in field {field!r}); {REENCODE_HINT}"
    return None


def _iter_parquet(
    source: Source, fields: Mapping[str, str], batch_rows: int = 4096
) -> Iterator[tuple[int, dict | InputProblem]]:
    """Rows of a Parquet file, in batches; a compressed one is first copied to a temporary file
    (Parquet reads its footer first)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = source.name
    with source.seekable_path() as seekable:
        try:
            parquet = pq.ParquetFile(seekable)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            yield 0, InputProblem(file, None, f"unreadable Parquet ({exc})")
            return
        names = parquet.schema_arrow.names
        if fields["text"] not in names:
            reason = f"Parquet file has no {fields['text']!r} column"
            yield 0, InputProblem(file, None, reason + _MAPPING_HINT)
            return
        columns = list(dict.fromkeys(fields[f] for f in RECORD_FIELDS if fields[f] in names))
        row = 0
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
                for record in batch.to_pylist():
                    row += 1
                    yield row, record
        except pa.ArrowException as exc:  # a corrupt row group: keep what was read, report the rest
            reason = f"unreadable Parquet from row {row + 1} on ({exc})"
            yield row + 1, InputProblem(file, row + 1, reason)
