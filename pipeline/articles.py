"""Read article collections (txt, md, html, jsonl, csv, parquet) into documents, one at a time.

Reading is streaming: a folder of a million files or a Parquet file of a million rows never sits
in memory at once. A file or record that cannot be used becomes an `InputProblem` with its
location and reason; the caller records it and carries on.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
RECORD_SUFFIXES = {".jsonl", ".csv", ".parquet"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES
RECORD_FIELDS = ("id", "text", "title", "date", "source", "url")
DEFAULT_MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class Document:
    """One article (or one pre-segmented passage, for `--unit record`)."""

    doc_id: str
    text: str
    title: str = ""
    date: str = ""
    source: str = ""
    url: str = ""
    input: str = ""


@dataclass(frozen=True)
class InputProblem:
    """A file or record that was skipped, and why."""

    input: str
    line: int | None
    reason: str

    def as_dict(self) -> dict:
        return {"input": self.input, "line": self.line, "reason": self.reason}


def expand_inputs(inputs: Iterable[str]) -> Iterator[tuple[Path, Path | None] | InputProblem]:
    """Files, folders (recursive) and globs -> (file, root it was found under), sorted per input."""
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in file.relative_to(path).parts):
                    continue  # hidden files and folders (.DS_Store, .git) are not articles
                if file.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield file, path
                else:
                    yield InputProblem(str(file), None, _unsupported(file))
        elif path.is_file():
            yield path, None
        elif any(ch in raw for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(raw, recursive=True))
            files = [p for p in matches if p.is_file()]
            if not files:
                yield InputProblem(raw, None, "glob matched no files")
            yield from ((file, None) for file in files)
        else:
            yield InputProblem(raw, None, "no such file or folder")


def _unsupported(file: Path) -> str:
    return (
        f"unsupported file type {file.suffix.lower() or '(none)'!r} "
        f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
    )


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATE_PATTERNS = (
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), ("y", "m", "d")),
    (
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTHS}),?\s+(\d{{4}})\b", re.I),
        ("d", "mon", "y"),
    ),
    (
        re.compile(rf"\b({_MONTHS})\s+(\d{{1,2}})(?:st|nd|rd|th)?,\s*(\d{{4}})\b", re.I),
        ("mon", "d", "y"),
    ),
)


def dateline(text: str, head_chars: int = 600) -> str:
    """The first full date (ISO, "6 March 2018", "March 6, 2018") near the top, as YYYY-MM-DD.

    Plain-text articles carry no metadata; their dateline or byline date is the best guess of
    when they were published. Returns "" when the head of the text holds no full date.
    """
    head = text[:head_chars]
    found = []
    for pattern, order in _DATE_PATTERNS:
        for match in pattern.finditer(head):
            parts = dict(zip(order, match.groups(), strict=True))
            month = (
                _MONTHS.split("|").index(parts["mon"].lower()) + 1
                if "mon" in parts
                else int(parts["m"])
            )
            try:
                found.append((match.start(), dt.date(int(parts["y"]), month, int(parts["d"]))))
            except ValueError:
                continue
    return min(found)[1].isoformat() if found else ""


def headline(text: str) -> str:
    """The first line that reads like a headline (4+ words), else the first line: a title for
    plain-text articles whose first lines are often menus ("• Home") or furniture."""
    lines = [line.strip(" \t•|-") for line in text.splitlines() if line.strip(" \t•|-")]
    for line in lines[:15]:
        if len(line.split()) >= 4 and len(line) <= 200:
            return line
    return lines[0][:200] if lines else ""


def _file_doc_id(file: Path, root: Path | None) -> str:
    return str(file.relative_to(root)) if root else str(file)


def _read_text_file(file: Path, max_bytes: int) -> str | InputProblem:
    try:
        size = file.stat().st_size
        if size > max_bytes:
            return InputProblem(str(file), None, f"file too large ({size} bytes > {max_bytes})")
        data = file.read_bytes()
    except OSError as exc:
        return InputProblem(str(file), None, f"unreadable ({exc.strerror or exc})")
    if b"\x00" in data[:8192]:
        return InputProblem(str(file), None, "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return InputProblem(str(file), None, f"not UTF-8 (invalid byte at offset {exc.start})")
    if not text.strip():
        return InputProblem(str(file), None, "empty file")
    return text


def _html_document(file: Path, html: str, doc_id: str) -> Document | InputProblem:
    """Main text of an HTML page via trafilatura (menus, footers, cookie banners dropped)."""
    import trafilatura

    result = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=False
    )
    extracted = result.as_dict() if result is not None else {}
    text = (extracted or {}).get("text") or ""
    if not text.strip():
        return InputProblem(str(file), None, "no article text found in HTML")
    return Document(
        doc_id=doc_id,
        text=text,
        title=extracted.get("title") or "",
        date=extracted.get("date") or "",
        url=extracted.get("url") or "",
        source=extracted.get("sitename") or "",
        input=str(file),
    )


def _record_document(record: dict, file: Path, line: int) -> Document | InputProblem:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return InputProblem(str(file), line, "record has no text (field 'text' missing or empty)")
    fields = {
        key: "" if record.get(key) is None else str(record.get(key))
        for key in ("title", "date", "source", "url")
    }
    doc_id = str(record["id"]) if record.get("id") not in (None, "") else f"{file}:{line}"
    return Document(doc_id=doc_id, text=text, input=str(file), **fields)


def _iter_jsonl(file: Path) -> Iterator[tuple[int, dict | InputProblem]]:
    with open(file, encoding="utf-8", errors="strict") as handle:
        line_number = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                yield (
                    line_number + 1,
                    InputProblem(
                        str(file),
                        line_number + 1,
                        f"not UTF-8 (invalid byte at offset {exc.start})",
                    ),
                )
                return
            if not line:
                return
            line_number += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_number, InputProblem(str(file), line_number, f"invalid JSON: {exc.msg}")
                continue
            if not isinstance(record, dict):
                yield line_number, InputProblem(str(file), line_number, "expected a JSON object")
                continue
            yield line_number, record


def _iter_csv(file: Path) -> Iterator[tuple[int, dict | InputProblem]]:
    with open(file, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "text" not in reader.fieldnames:
            yield 1, InputProblem(str(file), 1, "CSV header has no 'text' column")
            return
        try:
            for row in reader:
                # line_num counts physical lines, so multi-line quoted fields keep true locations
                yield reader.line_num, row
        except (UnicodeDecodeError, csv.Error) as exc:
            yield (
                reader.line_num,
                InputProblem(str(file), reader.line_num, f"unreadable CSV ({exc})"),
            )


def _iter_parquet(file: Path, batch_rows: int = 4096) -> Iterator[tuple[int, dict | InputProblem]]:
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
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        for record in batch.to_pylist():
            row += 1
            yield row, record


def iter_documents(
    inputs: Iterable[str], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Document | InputProblem]:
    """Yield every document in `inputs`, or an InputProblem for each thing that was skipped.

    Args:
        inputs: files, folders (searched recursively) and glob patterns.
        max_bytes: larger text/HTML files are skipped as oversized.
    """
    for item in expand_inputs(inputs):
        if isinstance(item, InputProblem):
            yield item
            continue
        file, root = item
        suffix = file.suffix.lower()
        if suffix in TEXT_SUFFIXES | HTML_SUFFIXES:
            text = _read_text_file(file, max_bytes)
            if isinstance(text, InputProblem):
                yield text
            elif suffix in HTML_SUFFIXES:
                yield _html_document(file, text, _file_doc_id(file, root))
            else:
                yield Document(
                    doc_id=_file_doc_id(file, root),
                    text=text,
                    input=str(file),
                    title=headline(text),
                    date=dateline(text),
                )
        elif suffix in RECORD_SUFFIXES:
            reader = {".jsonl": _iter_jsonl, ".csv": _iter_csv, ".parquet": _iter_parquet}[suffix]
            try:
                for line, record in reader(file):
                    if isinstance(record, InputProblem):
                        yield record
                    else:
                        yield _record_document(record, file, line)
            except OSError as exc:
                yield InputProblem(str(file), None, f"unreadable ({exc.strerror or exc})")
        else:
            yield InputProblem(
                str(file),
                None,
                f"unsupported file type {suffix or '(none)'!r} (supported: "
                f"{', '.join(sorted(SUPPORTED_SUFFIXES))})",
            )
