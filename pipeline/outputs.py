"""Write tables as JSON Lines, CSV or Parquet (chosen by file extension), atomically.

Writers take an iterator of pyarrow record batches, so a million-row output streams through
without being held in memory. The file appears under its final name only when complete.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from pipeline.errors import PipelineError

OUTPUT_FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def output_format(path: str | Path) -> str:
    """`jsonl`, `csv` or `parquet` from the extension.

    Raises:
        PipelineError: any other extension.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise PipelineError(f"{path}: output must end in .jsonl, .csv or .parquet")
    return OUTPUT_FORMATS[suffix]


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; rename it over `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield temporary
        temporary.replace(path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _cell(value):
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def write_batches(batches: Iterable[pa.RecordBatch], path: str | Path, schema: pa.Schema) -> int:
    """Stream record batches into `path` in the format its extension names; return row count."""
    fmt = output_format(path)
    rows = 0
    with atomic_path(path) as temporary:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetWriter(temporary, schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        elif fmt == "jsonl":
            with open(temporary, "w", encoding="utf-8") as handle:
                for batch in batches:
                    for record in batch.to_pylist():
                        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                    rows += batch.num_rows
        else:
            with open(temporary, "w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=schema.names)
                writer.writeheader()
                for batch in batches:
                    for record in batch.to_pylist():
                        writer.writerow({k: _cell(v) for k, v in record.items()})
                    rows += batch.num_rows
    return rows


def write_records(records: list[dict], path: str | Path, schema: pa.Schema) -> int:
    """Write a small list of dicts (summaries) in the format of `path`."""
    batch = pa.RecordBatch.from_pylist(records, schema=schema)
    return write_batches([batch], path, schema)


def write_json(data, path: str | Path) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def write_jsonl(rows: Iterable[dict], path: str | Path) -> None:
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
