"""Web archives (WARC, and the older ARC): the HTML pages a crawl holds, one record at a time.

Common Crawl and CC-NEWS deliver news as WARC files of a gigabyte each. warcio reads them as a
stream, record by record, so memory stays flat whatever the file size. Only HTTP responses with
status 200 and an HTML content type are pages; every other record (requests, metadata, redirects,
images, revisits) is passed over and counted, and the counts are reported once per file. The URL
and crawl date of a page come from its WARC headers (the HTML is extracted by the caller).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pipeline.compressed import decompression_errors
from pipeline.inputs import InputProblem

HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\"';\s]+)", re.I)


@dataclass(frozen=True)
class WarcPage:
    """One HTML page from a WARC file, as the crawler received it."""

    record: int  # position of the record in the file, from 1
    record_id: str  # WARC-Record-ID without its angle brackets ("" in ARC files)
    url: str  # WARC-Target-URI
    crawl_date: str  # WARC-Date as YYYY-MM-DD
    html: bytes  # the HTTP body, with chunked and gzip transfer encodings undone
    charset: str | None  # the charset the server declared in Content-Type, if any


def iter_warc_pages(
    stream: BinaryIO, name: str, max_bytes: int
) -> Iterator[WarcPage | InputProblem]:
    """Each HTML page of a WARC/ARC stream, or a problem for a page that cannot be read; then,
    if any record was passed over, one problem that counts them by kind.

    A page over `max_bytes` is reported and skipped; a damaged archive stops at the damage with
    a problem naming the record, keeping the pages before it.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    unreadable = (ArchiveLoadFailed, ValueError, *decompression_errors())
    passed_over: Counter = Counter()
    records = ArchiveIterator(stream, arc2warc=True)
    number = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except Exception as exc:  # warcio raises many types on malformed records
            yield InputProblem(
                name,
                number + 1,
                f"unreadable WARC from record {number + 1} on ({_describe(exc, unreadable)})",
            )
            break
        number += 1
        kind = _not_a_page(record)
        if kind:
            passed_over[kind] += 1
            continue
        yield _read_page(record, number, name, max_bytes, unreadable)
    if passed_over:
        yield _passed_over_problem(name, passed_over)


def _not_a_page(record) -> str | None:
    """What a record is when it is not an HTML page with status 200 (counted by this kind)."""
    if record.rec_type != "response":
        return f"{record.rec_type} records"
    if record.http_headers is None:
        return "responses without HTTP headers"
    status = record.http_headers.get_statuscode()
    if status != "200":
        return f"status {status}"
    mime = _content_type(record)[0]
    if mime not in HTML_TYPES:
        return mime or "no content type"
    return None


def _content_type(record) -> tuple[str, str | None]:
    """(media type, charset) from the HTTP Content-Type header."""
    header = record.http_headers.get_header("Content-Type") or ""
    mime = header.split(";", 1)[0].strip().lower()
    charset = _CHARSET.search(header)
    return mime, charset.group(1) if charset else None


def _read_page(
    record, number: int, name: str, max_bytes: int, unreadable: tuple
) -> WarcPage | InputProblem:
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    try:
        html = record.content_stream().read(max_bytes + 1)
    except unreadable as exc:
        return InputProblem(name, number, f"{url}: unreadable HTTP body ({exc})")
    if len(html) > max_bytes:
        return InputProblem(name, number, f"{url}: page too large (over {max_bytes} bytes)")
    if _cut_short(record):
        return InputProblem(
            name, number, f"{url}: the file ends inside this record (a truncated download?)"
        )
    return WarcPage(
        record=number,
        record_id=(record.rec_headers.get_header("WARC-Record-ID") or "").strip("<>"),
        url=url,
        crawl_date=(record.rec_headers.get_header("WARC-Date") or "")[:10],
        html=html,
        charset=_content_type(record)[1],
    )


def _describe(exc: Exception, expected: tuple) -> str:
    """An error's message, with its type when it is a parser slip rather than a known failure."""
    return str(exc) if isinstance(exc, expected) else f"{type(exc).__name__}: {exc}"


def _cut_short(record) -> bool:
    """Whether the file ended before the record's declared length (warcio returns what there
    is without complaint)."""
    raw = record.raw_stream
    while raw.read(1 << 16):
        pass
    return getattr(raw, "limit", 0) > 0


def _passed_over_problem(name: str, passed_over: Counter) -> InputProblem:
    kinds = ", ".join(f"{kind}: {count}" for kind, count in sorted(passed_over.items()))
    total = sum(passed_over.values())
    return InputProblem(
        name,
        None,
        f"passed over {total} WARC record{'s' if total > 1 else ''} that "
        f"{'are not HTML pages' if total > 1 else 'is not an HTML page'} with status 200 ({kinds})",
    )
