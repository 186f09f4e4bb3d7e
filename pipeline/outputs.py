"""Write tables as JSON Lines, CSV or Parquet (chosen by file extension), atomically.

Writers take an iterator of pyarrow record batches, so a million-row output streams through
without being held in memory. The file appears under its final name only when complete.

CSV is for spreadsheets, which run a cell starting with `=`, `+`, `-` or `@` (or tab, CR) as a
formula: such a text cell, and one starting with `'`, gets a leading `'`, which spreadsheets
show as plain text and `restore_csv_cell` removes. JSON Lines and Parquet keep text exact.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from pipeline.errors import PipelineError

OUTPUT_FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"), and the
# quote that escapes them (itself escaped, so that the rule can be undone exactly).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_MARK = "'"


def output_format(path: str | Path) -> str:
    """`jsonl`, `csv` or `parquet` from the extension.

    Raises:
        PipelineError: any other extension.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise PipelineError(f"{path}: output must end in .jsonl, .csv or .parquet")
    return OUTPUT_FORMATS[suffix]


def unwritable(path: Path, error: OSError) -> PipelineError:
    """The error for an output that cannot be written: where, why, and what to do."""
    reason = error.strerror or type(error).__name__
    where = f" ({error.filename})" if error.filename and str(error.filename) != str(path) else ""
    return PipelineError(
        f"{path}: cannot write the output here: {reason}{where}; choose a writable folder "
        "(one that is not a file and that you may write to)"
    )


def prepare_output_folder(path: str | Path) -> Path:
    """Create the folder of output `path` and check that a file can be created in it.

    Raises:
        PipelineError: the folder cannot be created (a file is in the way) or written.
    """
    path = Path(path)
    probe = path.with_name(f".{path.name}.probe-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise unwritable(path, error) from None
    return path


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; rename it over `path` only on success.

    Raises:
        PipelineError: the location cannot be written (see `prepare_output_folder`).
    """
    path = prepare_output_folder(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield temporary
        try:
            temporary.replace(path)
        except OSError as error:  # e.g. `path` is an existing folder
            raise unwritable(path, error) from None
    finally:
        if temporary.exists():
            temporary.unlink()


@contextmanager
def atomic_folder(path: str | Path):
    """Yield a new empty folder beside `path`; when the block succeeds it takes the place of
    `path` (an earlier folder there is moved aside by a rename, then deleted), when it fails it
    is deleted. So `path` never holds a half-written folder (a model folder, a cascade's
    screen), and an earlier one stays until the new one is complete.
    """
    path = Path(path)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)  # left by an earlier process with this id
    staging.mkdir(parents=True)  # not mkdtemp: the folder gets the usual permissions
    try:
        yield staging
        retired = path.with_name(f".{path.name}.old-{os.getpid()}")
        if path.exists():
            shutil.rmtree(retired, ignore_errors=True)
            path.rename(retired)
        staging.rename(path)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def output_lock(path: str | Path):
    """Hold a lock file beside output `path` (`passages.lock` for `passages.jsonl`: one per
    stem, like the files written beside OUT), recording this process's id, while a run writes.

    A second run on the same output stops at once instead of mixing its files with the first;
    the lock of a run that crashed is taken over, since its process is gone.

    Raises:
        PipelineError: another live run holds the lock (its process id is named), or the
            location cannot be written.
    """
    from filelock import SoftFileLock, Timeout

    path = prepare_output_folder(path)
    lock_file = path.with_suffix(".lock")
    lock = SoftFileLock(lock_file, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        holder = lock.pid
        raise PipelineError(
            f"{path}: another run (process {holder if holder else 'unknown'}) is writing this "
            f"output (lock file {lock_file}); wait for it to finish or choose another --output"
        ) from None
    except OSError as error:
        raise unwritable(path, error) from None
    try:
        yield path
    finally:
        lock.release()


def holds_output_lock(function):
    """Run `function` (which has an `output` argument) under `output_lock(output)`."""
    import functools
    import inspect

    signature = inspect.signature(function)

    @functools.wraps(function)
    def locked(*args, **kwargs):
        with output_lock(signature.bind(*args, **kwargs).arguments["output"]):
            return function(*args, **kwargs)

    return locked


def neutralise_csv_cell(value):
    """A text cell a spreadsheet cannot run as a formula (see the module docstring)."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, CSV_TEXT_MARK)):
        return CSV_TEXT_MARK + value
    return value


def restore_csv_cell(value):
    """The original text of a cell written by `neutralise_csv_cell`."""
    if isinstance(value, str) and value.startswith(CSV_TEXT_MARK):
        return value[len(CSV_TEXT_MARK) :]
    return value


def _cell(value):
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return neutralise_csv_cell(value)


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


def write_text(text: str, path: str | Path) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(data, path: str | Path) -> None:
    write_text(json.dumps(data, indent=2, ensure_ascii=False), path)


def write_jsonl(rows: Iterable[dict], path: str | Path) -> None:
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
