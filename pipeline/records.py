"""Read record files (JSONL, CSV, Parquet) one record at a time, with the line each came from.

A bad line or row costs that line only: it becomes an `InputProblem` with its true line number
and the records after it are read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from pipeline.inputs import InputProblem
from pipeline.jsonl import iter_jsonl_objects
from pipeline.text import REENCODE_HINT, wide_encoding

RECORD_FIELDS = ("id", "text", "title", "date", "source", "url")


def iter_records(file: Path) -> Iterator[tuple[int, dict | InputProblem]]:
    """(line or row number, record or problem) for each record of a .jsonl, .csv or .parquet file.

    Raises:
        OSError: the file cannot be opened or read.
    """
    reader = {".jsonl": _iter_jsonl, ".csv": _iter_csv, ".parquet": _iter_parquet}
    return reader[file.suffix.lower()](file)


def _iter_jsonl(file: Path) -> Iterator[tuple[int, dict | InputProblem]]:
    """Records of a JSONL file through the shared reader: one bad line costs that line only."""
    for line, record in iter_jsonl_objects(file):
        if isinstance(record, dict):
            yield line, record
        else:
            yield line, InputProblem(record.path, record.line, record.message)


# The csv module refuses fields over 128 KiB by default; an article is often longer. (This limit
# is process-wide in the csv module; raising it only lets longer fields through.)
CSV_FIELD_LIMIT = 2**31 - 1


def _iter_csv(file: Path) -> Iterator[tuple[int, dict | InputProblem]]:
    """Rows of a CSV file with the line each starts on; a row with a non-UTF-8 byte is reported
    and skipped, the rows after it are read.

    Bytes are decoded with `surrogateescape`, so a bad byte never stops the parser (lines stay
    in step) and can be found afterwards in the row's fields.
    """
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    with open(file, "rb") as binary:
        wide = wide_encoding(binary.read(4096))
        if wide:
            yield 1, InputProblem(str(file), 1, f"{wide} text, not UTF-8; {REENCODE_HINT}")
            return
        binary.seek(0)
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
                yield row_start, InputProblem(str(file), row_start, f"unreadable CSV row ({exc})")
                row_start = reader.line_num + 1
                continue
            line, row_start = row_start, reader.line_num + 1
            if not row:
                continue  # a blank line
            if header is None:
                header = row
                if "text" not in header:
                    columns = ", ".join(repr(c) for c in header)
                    yield (
                        line,
                        InputProblem(
                            str(file), line, f"CSV header has no 'text' column (columns: {columns})"
                        ),
                    )
                    return
                continue
            record = dict(zip(header, row, strict=False))
            bad = _undecodable_field(record)
            yield line, InputProblem(str(file), line, bad) if bad else record


def _undecodable_field(record: dict) -> str | None:
    """The reason a CSV row holds a byte that is not UTF-8 (kept as a lone surrogate), if it does."""
    for field, value in record.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(value[exc.start]) - 0xDC00
            return f"not UTF-8 (invalid byte 0x{byte:02X} in field {field!r}); {REENCODE_HINT}"
    return None


def _iter_parquet(file: Path, batch_rows: int = 4096) -> Iterator[tuple[int, dict | InputProblem]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        yield 0, InputProblem(str(file), None, f"unreadable Parquet ({exc})")
        return
    if "text" not in parquet.schema_arrow.names:
        yield 0, InputProblem(str(file), None, "Parquet file has no 'text' column")
        return
    columns = [c for c in RECORD_FIELDS if c in parquet.schema_arrow.names]
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            for record in batch.to_pylist():
                row += 1
                yield row, record
    except pa.ArrowException as exc:  # a corrupt row group: keep what was read, report the rest
        yield (
            row + 1,
            InputProblem(str(file), row + 1, f"unreadable Parquet from row {row + 1} on ({exc})"),
        )
