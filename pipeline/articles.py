"""Read article collections (txt, md, html, jsonl, csv, parquet) into documents, one at a time.

Reading is streaming: a folder of a million files or a Parquet file of a million rows never sits
in memory at once. A file or record that cannot be used becomes an `InputProblem` with its
location and reason; the caller records it and carries on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.inputs import (
    HTML_SUFFIXES,
    RECORD_SUFFIXES,
    RENAMED,
    TEXT_SUFFIXES,
    InputProblem,
    expand_inputs,
    unsupported_reason,
)
from pipeline.records import iter_records
from pipeline.text import (
    REENCODE_HINT,
    decode_text,
    normalise_newlines,
    undecodable_reason,
    wide_encoding,
)

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


def _read_bytes(file: Path, max_bytes: int) -> bytes | InputProblem:
    try:
        size = file.stat().st_size
        if size > max_bytes:
            return InputProblem(str(file), None, f"file too large ({size} bytes > {max_bytes})")
        return file.read_bytes()
    except OSError as exc:
        return InputProblem(str(file), None, f"unreadable ({exc.strerror or exc})")


def _not_text(file: Path, data: bytes) -> InputProblem | None:
    """UTF-16/UTF-32 text or binary content, told apart so the reason says what to do."""
    wide = wide_encoding(data)
    if wide:
        return InputProblem(str(file), None, f"{wide} text, not UTF-8; {REENCODE_HINT}")
    if b"\x00" in data[:8192]:
        return InputProblem(str(file), None, "binary file (contains NUL bytes)")
    return None


def _read_text_file(file: Path, max_bytes: int) -> str | InputProblem:
    """The text of a .txt/.md file under the product's text-reading rule (`pipeline.text`)."""
    data = _read_bytes(file, max_bytes)
    if isinstance(data, InputProblem):
        return data
    problem = _not_text(file, data)
    if problem:
        return problem
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        return InputProblem(str(file), *undecodable_reason(data, exc))
    if not text.strip():
        return InputProblem(str(file), None, "empty file")
    return text


def _read_html_file(file: Path, max_bytes: int) -> str | InputProblem:
    """The markup of an HTML file, decoded as a browser would: byte-order mark, else the
    charset the page declares (`<meta charset>`), else UTF-8."""
    from bs4.dammit import EncodingDetector

    data = _read_bytes(file, max_bytes)
    if isinstance(data, InputProblem):
        return data
    data, bom_encoding = EncodingDetector.strip_byte_order_mark(data)
    declared = None if bom_encoding else EncodingDetector.find_declared_encoding(data, is_html=True)
    if not bom_encoding:
        problem = _not_text(file, data)
        if problem:
            return problem
    encoding = _html_codec(bom_encoding or declared)
    try:
        html = data.decode(encoding)
    except LookupError:
        return InputProblem(
            str(file), None, f"declares an unknown charset {declared!r}; {REENCODE_HINT}"
        )
    except UnicodeDecodeError as exc:
        line, reason = undecodable_reason(data, exc)
        if declared:
            reason = reason.replace("not UTF-8", f"not {declared} as the page declares")
        else:
            reason += " or declare its charset (<meta charset=...>)"
        return InputProblem(str(file), line, reason)
    if not html.strip():
        return InputProblem(str(file), None, "empty file")
    return html


def _html_codec(label: str | None) -> str:
    """Python's codec for an HTML charset label, with the WHATWG rules browsers follow: Latin-1
    and ASCII labels mean windows-1252, a UTF-16 label in ASCII-compatible bytes means UTF-8."""
    if not label:
        return "utf-8"
    label = label.strip().lower()
    if label in {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii"}:
        return "windows-1252"
    if label.startswith(("utf-16", "utf16", "utf-32", "utf32")):
        return "utf-8"
    return label


def _html_document(file: Path, html: str, doc_id: str) -> Document | InputProblem:
    """Main text of an HTML page via trafilatura (menus, footers, cookie banners dropped)."""
    import trafilatura

    result = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=False
    )
    extracted = result.as_dict() if result is not None else {}
    text = normalise_newlines((extracted or {}).get("text") or "")
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


_JSON_TYPES = {
    bool: "true/false",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "an object",
}


def _text_problem(record: dict) -> str | None:
    """Why a record's `text` cannot be scored, or None when it can."""
    if "text" not in record:
        return "field 'text' is missing"
    value = record["text"]
    if value is None:
        return "field 'text' is null"
    if isinstance(value, str):
        return None if value.strip() else "field 'text' is empty"
    kind = next((name for t, name in _JSON_TYPES.items() if isinstance(value, t)), None)
    kind = kind or f"a value of type {type(value).__name__}"
    return f"field 'text' holds {kind} ({str(value)[:40]}), not text; store the text as a string"


def _record_document(record: dict, file: Path, line: int) -> Document | InputProblem:
    problem = _text_problem(record)
    if problem:
        return InputProblem(str(file), line, problem)
    fields = {
        key: "" if record.get(key) is None else str(record.get(key))
        for key in ("title", "date", "source", "url")
    }
    doc_id = str(record["id"]) if record.get("id") not in (None, "") else f"{file}:{line}"
    return Document(doc_id=doc_id, text=record["text"], input=str(file), **fields)


def iter_documents(
    inputs: Iterable[str], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Document | InputProblem]:
    """Yield every document in `inputs`, or an InputProblem for each thing that was skipped.

    Document ids are unique across the whole collection: a repeated id (one record id in two
    files, one file name under two folders) is kept as `<id>@<file>:<line>` and reported with
    action "renamed", so two articles never merge in the summaries.

    Args:
        inputs: files, folders (searched recursively) and glob patterns.
        max_bytes: larger text/HTML files are skipped as oversized.
    """
    ids = _UniqueIds()
    for item in expand_inputs(inputs):
        if isinstance(item, InputProblem):
            yield item
            continue
        file, root = item
        for read, line in _read_file(file, root, max_bytes):
            if isinstance(read, Document):
                read, renamed = ids.claim(read, f"{file}:{line}" if line else str(file), line)
                if renamed:
                    yield renamed
            yield read


def _read_file(
    file: Path, root: Path | None, max_bytes: int
) -> Iterator[tuple[Document | InputProblem, int | None]]:
    """(document or problem, line or row it came from) for each item of one input file."""
    suffix = file.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        text = _read_text_file(file, max_bytes)
        if isinstance(text, InputProblem):
            yield text, None
        else:
            yield (
                Document(
                    doc_id=_file_doc_id(file, root),
                    text=text,
                    input=str(file),
                    title=headline(text),
                    date=dateline(text),
                ),
                None,
            )
    elif suffix in HTML_SUFFIXES:
        html = _read_html_file(file, max_bytes)
        if isinstance(html, InputProblem):
            yield html, None
        else:
            yield _html_document(file, html, _file_doc_id(file, root)), None
    elif suffix in RECORD_SUFFIXES:
        records = 0
        try:
            for line, record in iter_records(file):
                records += 1
                if isinstance(record, InputProblem):
                    yield record, line
                else:
                    yield _record_document(record, file, line), line
        except OSError as exc:
            yield InputProblem(str(file), None, f"unreadable ({exc.strerror or exc})"), None
        else:
            if not records:
                yield InputProblem(str(file), None, "no records (empty file)"), None
    else:
        yield InputProblem(str(file), None, unsupported_reason(file)), None


class _UniqueIds:
    """The first document with an id keeps it; a repeat is renamed `<id>@<where>` and reported."""

    def __init__(self):
        self._first: dict[str, str] = {}

    def claim(
        self, document: Document, where: str, line: int | None
    ) -> tuple[Document, InputProblem | None]:
        original = document.doc_id
        if original not in self._first:
            self._first[original] = where
            return document, None
        new_id, n = f"{original}@{where}", 1
        while new_id in self._first:  # an input may already use the new id itself
            n += 1
            new_id = f"{original}@{where}~{n}"
        self._first[new_id] = where
        notice = InputProblem(
            document.input,
            line,
            f"duplicate id {original!r} (first used at {self._first[original]}); "
            f"this article is kept as {new_id!r}",
            action=RENAMED,
        )
        return replace(document, doc_id=new_id), notice
