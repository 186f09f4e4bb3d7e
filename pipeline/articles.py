"""Read article collections into documents, one at a time: txt, md, html, jsonl, csv, parquet,
news-please json and WARC/ARC files, each plain, compressed (.gz, .bz2, .xz, .zst) or in a zip.

Reading is streaming: a folder of a million files, a Parquet file of a million rows or a 1 GB WARC
never sits in memory at once. A file or record that cannot be used becomes an `InputProblem` with
its location and reason; the caller records it and carries on. Each document's language is
declared by its record or identified (`pipeline.language`); one outside `languages` is reported
and skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.compressed import Source, decompression_errors, iter_sources
from pipeline.config import PredictConfig
from pipeline.documents import Document
from pipeline.inputs import (
    HTML_SUFFIXES,
    NEWS_PLEASE_SUFFIXES,
    RECORD_SUFFIXES,
    RENAMED,
    TEXT_SUFFIXES,
    WARC_SUFFIXES,
    InputProblem,
    expand_inputs,
    unsupported_reason,
)
from pipeline.language import (
    check_languages,
    declared_language,
    identify_language,
    language_skip_reason,
)
from pipeline.records import NEWS_PLEASE_FIELDS, iter_records, parse_news_please
from pipeline.text import decode_text, not_text_reason, undecodable_reason
from pipeline.webpages import decode_html, html_document, warc_documents

# Reading defaults are the predict config's: a caller that passes nothing reads as predict does.
_PREDICT = PredictConfig()
DEFAULT_MAX_BYTES = _PREDICT.max_file_bytes


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


def _file_doc_id(source: Source, root: Path | None) -> str:
    """A file's id: its path under the input folder (or as given), then its name in a zip."""
    file = str(source.path.relative_to(root)) if root else str(source.path)
    return f"{file}/{source.member}" if source.member else file


def _unreadable(exc: BaseException) -> str:
    return f"unreadable ({getattr(exc, 'strerror', None) or exc})"


def _read_bytes(source: Source, max_bytes: int) -> bytes | InputProblem:
    """All bytes of a text-like source (decompressed), unless there are more than `max_bytes`."""
    if source.size is not None and source.size > max_bytes:
        return InputProblem(
            source.name, None, f"file too large ({source.size} bytes > {max_bytes})"
        )
    try:
        with source.open() as stream:
            data = stream.read(max_bytes + 1)
    except decompression_errors() as exc:
        return InputProblem(source.name, None, _unreadable(exc))
    if len(data) > max_bytes:
        return InputProblem(
            source.name, None, f"file too large (over {max_bytes} bytes once decompressed)"
        )
    return data


def _read_text_file(source: Source, max_bytes: int) -> str | InputProblem:
    """The text of a .txt/.md file under the product's text-reading rule (`pipeline.text`)."""
    data = _read_bytes(source, max_bytes)
    if isinstance(data, InputProblem):
        return data
    reason = not_text_reason(data)
    if reason:
        return InputProblem(source.name, None, reason)
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        return InputProblem(source.name, *undecodable_reason(data, exc))
    if not text.strip():
        return InputProblem(source.name, None, "empty file")
    return text


_JSON_TYPES = {
    bool: "true/false",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "an object",
}


def _text_problem(record: dict, field: str) -> str | None:
    """Why a record's text (in `field`) cannot be scored, or None when it can."""
    if field not in record:
        return f"field {field!r} is missing"
    value = record[field]
    if value is None:
        return f"field {field!r} is null"
    if isinstance(value, str):
        return None if value.strip() else f"field {field!r} is empty"
    kind = next((name for t, name in _JSON_TYPES.items() if isinstance(value, t)), None)
    kind = kind or f"a value of type {type(value).__name__}"
    return f"field {field!r} holds {kind} ({str(value)[:40]}), not text; store the text as a string"


def _record_document(
    record: dict, name: str, line: int | None, fields: Mapping[str, str], default_id: str
) -> Document | InputProblem:
    """A record as a document; `fields` names the record field of each document field."""
    problem = _text_problem(record, fields["text"])
    if problem:
        return InputProblem(name, line, problem)
    values = {
        key: "" if record.get(fields[key]) is None else str(record.get(fields[key]))
        for key in ("title", "date", "source", "url")
    }
    record_id = record.get(fields["id"]) if "id" in fields else None
    return Document(
        doc_id=default_id if record_id in (None, "") else str(record_id),
        text=record[fields["text"]],
        input=name,
        language=declared_language(record.get(fields["language"])),
        **values,
    )


def reading_options(predict: PredictConfig) -> dict:
    """The keyword arguments of `iter_documents` for a predict config:
    `iter_documents(inputs, **reading_options(config.predict))` reads as that run is set up."""
    return {
        "max_bytes": predict.max_file_bytes,
        "fields": predict.fields.model_dump(),
        "languages": predict.languages,
        "max_compression_ratio": predict.max_compression_ratio,
    }


def iter_documents(
    inputs: Iterable[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    fields: Mapping[str, str] | None = None,
    languages: Collection[str] | None = _PREDICT.languages,
    max_compression_ratio: int = _PREDICT.max_compression_ratio,
) -> Iterator[Document | InputProblem]:
    """Yield every document in `inputs`, or an InputProblem for each thing that was skipped.

    Document ids are unique across the whole collection: a repeated id (one record id in two
    files, one file name under two folders) is kept as `<id>@<file>:<line>` and reported with
    action "renamed", so two articles never merge in the summaries. The defaults are the
    predict config's (`reading_options` gives a config's own).

    Args:
        inputs: files, folders (searched recursively) and glob patterns.
        max_bytes: larger text/HTML/JSON files and WARC pages are skipped as oversized.
        fields: document field -> record field for JSONL/CSV/Parquet records (missing keys
            keep their default, `predict.fields`).
        languages: the languages to score (ISO 639 codes); a document identified or declared
            in another is reported and skipped. None scores every language.
        max_compression_ratio: a compressed file or zip member that expands more is skipped.

    Raises:
        ConfigError: `languages` holds a code the language identifier never gives (raised by
            the call, before anything is read).
    """
    check_languages(languages)
    reading = _Reading(
        max_bytes,
        {**_PREDICT.fields.model_dump(), **(fields or {})},
        languages,
        max_compression_ratio,
    )
    return _iter_documents(inputs, reading)


@dataclass(frozen=True)
class _Reading:
    max_bytes: int
    fields: Mapping[str, str]
    languages: Collection[str] | None
    max_compression_ratio: int


def _iter_documents(inputs: Iterable[str], reading: _Reading) -> Iterator[Document | InputProblem]:
    ids = _UniqueIds()
    for item in expand_inputs(inputs):
        if isinstance(item, InputProblem):
            yield item
            continue
        file, root = item
        for source in iter_sources(file, reading.max_compression_ratio):
            if isinstance(source, InputProblem):
                yield source
                continue
            for read, line in _read_source(source, root, reading):
                if isinstance(read, Document):
                    read = _in_language(read, line, reading.languages)
                if isinstance(read, Document):
                    where = f"{read.input}:{line}" if line else read.input
                    read, renamed = ids.claim(read, where, line)
                    if renamed:
                        yield renamed
                yield read


def _in_language(
    document: Document, line: int | None, languages: Collection[str] | None
) -> Document | InputProblem:
    """The document with its language set, or the problem that skips it (a language the model
    is not trained for)."""
    declared = document.language
    language = declared or identify_language(document.text)
    how = "declared by the input" if declared else "identified by py3langid"
    reason = language_skip_reason(language, how, languages)
    if reason:
        return InputProblem(document.input, line, reason)
    return document if language == declared else replace(document, language=language)


# What the line number of a problem counts, by format.
_UNITS = {".parquet": "row", ".warc": "record", ".arc": "record"}


def _read_source(
    source: Source, root: Path | None, reading: _Reading
) -> Iterator[tuple[Document | InputProblem, int | None]]:
    """(document or problem, line, row or record it came from) for each item of one source; a
    source that breaks off (a truncated or damaged compressed stream) keeps what was read."""
    last_line = None
    try:
        for read, line in _read_format(source, root, reading):
            last_line = line or last_line
            yield read, line
    except decompression_errors() as exc:
        after = f" after {_UNITS.get(source.format, 'line')} {last_line}" if last_line else ""
        yield InputProblem(source.name, None, f"{_unreadable(exc)}{after}"), None


def _read_format(
    source: Source, root: Path | None, reading: _Reading
) -> Iterator[tuple[Document | InputProblem, int | None]]:
    if source.format in TEXT_SUFFIXES:
        text = _read_text_file(source, reading.max_bytes)
        if isinstance(text, InputProblem):
            yield text, None
        else:
            yield (
                Document(
                    doc_id=_file_doc_id(source, root),
                    text=text,
                    input=source.name,
                    title=headline(text),
                    date=dateline(text),
                ),
                None,
            )
    elif source.format in HTML_SUFFIXES:
        data = _read_bytes(source, reading.max_bytes)
        html = data if isinstance(data, InputProblem) else decode_html(data, source.name)
        if isinstance(html, InputProblem):
            yield html, None
        else:
            yield html_document(source.name, html, _file_doc_id(source, root)), None
    elif source.format in RECORD_SUFFIXES:
        records = 0
        for line, record in iter_records(source, reading.fields):
            records += 1
            if isinstance(record, InputProblem):
                yield record, line
            else:
                default_id = f"{source.name}:{line}"
                yield _record_document(record, source.name, line, reading.fields, default_id), line
        if not records:
            yield InputProblem(source.name, None, "no records (empty file)"), None
    elif source.format in NEWS_PLEASE_SUFFIXES:
        yield _news_please_document(source, root, reading.max_bytes), None
    elif source.format in WARC_SUFFIXES:
        yield from warc_documents(source, _file_doc_id(source, root), reading.max_bytes)
    else:
        yield InputProblem(source.name, None, unsupported_reason(source.name)), None


def _news_please_document(source: Source, root: Path | None, max_bytes: int):
    """The article of a news-please JSON file (maintext, title, date_publish, url, language)."""
    data = _read_bytes(source, max_bytes)
    article = data if isinstance(data, InputProblem) else parse_news_please(data, source.name)
    if isinstance(article, InputProblem):
        return article
    read = _record_document(
        article, source.name, None, NEWS_PLEASE_FIELDS, _file_doc_id(source, root)
    )
    if isinstance(read, InputProblem):
        return replace(
            read,
            reason=f"{read.reason} (a .json file is read as one news-please article; other "
            "JSON goes in a .jsonl file, one object per line)",
        )
    return read


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
