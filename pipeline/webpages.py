"""Web pages into documents: HTML decoded as a browser would, its main text by trafilatura,
and the HTML pages of WARC/ARC web archives (with the URL and crawl date of their records).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

from pipeline.compressed import Source
from pipeline.documents import Document
from pipeline.inputs import InputProblem
from pipeline.text import REENCODE_HINT, normalise_newlines, not_text_reason, undecodable_reason
from pipeline.warc import WarcPage, iter_warc_pages


def decode_html(data: bytes, name: str, server_charset: str | None = None) -> str | InputProblem:
    """The markup of an HTML page, decoded as a browser would: byte-order mark, else the charset
    the server declared (a WARC response's Content-Type), else the one the page declares
    (`<meta charset>`), else UTF-8."""
    from bs4.dammit import EncodingDetector

    data, bom_encoding = EncodingDetector.strip_byte_order_mark(data)
    declared = None
    if not bom_encoding:
        declared = server_charset or EncodingDetector.find_declared_encoding(data, is_html=True)
        reason = not_text_reason(data)
        if reason:
            return InputProblem(name, None, reason)
    encoding = _html_codec(bom_encoding or declared)
    try:
        html = data.decode(encoding)
    except LookupError:
        return InputProblem(
            name, None, f"declares an unknown charset {declared!r}; {REENCODE_HINT}"
        )
    except UnicodeDecodeError as exc:
        line, reason = undecodable_reason(data, exc)
        if declared:
            reason = reason.replace("not UTF-8", f"not {declared} as the page declares")
        else:
            reason += " or declare its charset (<meta charset=...>)"
        return InputProblem(name, line, reason)
    if not html.strip():
        return InputProblem(name, None, "empty file")
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


def html_document(
    name: str, html: str, doc_id: str, url: str = "", crawl_date: str = ""
) -> Document | InputProblem:
    """Main text of an HTML page via trafilatura (menus, footers, cookie banners dropped).

    `url` and `crawl_date` come from a WARC record's headers: the URL it was fetched from wins
    over the page's own, the crawl date stands in when the page states no publication date.
    """
    import trafilatura

    result = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=False
    )
    extracted = result.as_dict() if result is not None else {}
    text = normalise_newlines((extracted or {}).get("text") or "")
    if not text.strip():
        return InputProblem(name, None, "no article text found in HTML")
    url = url or extracted.get("url") or ""
    return Document(
        doc_id=doc_id,
        text=text,
        title=extracted.get("title") or "",
        date=extracted.get("date") or crawl_date,
        url=url,
        source=extracted.get("sitename") or (urlsplit(url).hostname or "" if url else ""),
        input=name,
    )


def warc_documents(
    source: Source, file_id: str, max_bytes: int
) -> Iterator[tuple[Document | InputProblem, int | None]]:
    """(document or problem, record number) for each HTML page of a WARC/ARC source; a page's
    id is its WARC-Record-ID, else `<file_id>:<record number>` (ARC files have none)."""
    with source.open() as stream:
        for page in iter_warc_pages(stream, source.name, max_bytes):
            if isinstance(page, InputProblem):
                yield page, page.line
                continue
            doc_id = page.record_id or f"{file_id}:{page.record}"
            yield _warc_page_document(source.name, page, doc_id), page.record


def _warc_page_document(name: str, page: WarcPage, doc_id: str) -> Document | InputProblem:
    read = decode_html(page.html, name, page.charset)
    if not isinstance(read, InputProblem):
        read = html_document(name, read, doc_id, url=page.url, crawl_date=page.crawl_date)
    if isinstance(read, InputProblem):  # located by record, then by line of the page
        where = f"{page.url}: line {read.line}" if read.line else page.url
        return replace(read, line=page.record, reason=f"{where}: {read.reason}")
    return read
