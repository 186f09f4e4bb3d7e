"""Split documents into sentences and passages with character offsets into the original text.

Lines are split first (headlines, captions, menu items and list entries are their own units in
news pages), then each line is split into sentences by BlingFire, a compiled sentence breaker
that handles abbreviations such as "U.S." and runs at tens of MB/s, so segmentation never limits
GPU scoring. Offsets are Python string indices into the text exactly as given: `text[start:end]`
is the passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_SENTENCE_CHARS = 1000  # far above real sentences; see `_cut_long`
_LINE = re.compile(r"[^\r\n]+")  # record text may keep CR or CRLF line endings


@dataclass(frozen=True)
class Span:
    """A passage of a document: `text[start:end]`."""

    start: int
    end: int


def _strip_span(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text`, in order, without surrounding whitespace.

    Lines containing only punctuation or bullets (for example "|" in a menu) are dropped.
    """
    import blingfire

    spans: list[Span] = []
    for line in _LINE.finditer(text):
        line_text = line.group()
        if not any(c.isalnum() for c in line_text):
            continue
        _, offsets = blingfire.text_to_sentences_and_offsets(line_text)
        for start, end in offsets:
            span = _strip_span(text, line.start() + start, line.start() + end)
            if span is not None:
                spans.extend(_cut_long(text, span))
    return spans


def _cut_long(text: str, span: Span, limit: int = MAX_SENTENCE_CHARS) -> Iterator[Span]:
    """`span`, or for a "sentence" longer than `limit` characters (a page of text without
    punctuation, a table flattened to one line) pieces of it cut at the last space before the
    limit, so every passage stays readable and every part of the text is scored."""
    start = span.start
    while span.end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit)
        cut = cut if cut > start else start + limit  # no space at all: cut at the limit
        piece = _strip_span(text, start, cut)
        if piece is not None:
            yield piece
        start = cut
    piece = _strip_span(text, start, span.end)
    if piece is not None:
        yield piece


def passages(text: str, window: int = 1, stride: int | None = None) -> Iterator[Span]:
    """Passages of `window` consecutive sentences, moving `stride` sentences at a time.

    The default (window 1) yields one passage per sentence. A window larger than 1 gives the
    classifier context across sentence boundaries (a quote and its attribution, say).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    stride = stride or window
    sentences = split_sentences(text)
    if not sentences:
        return
    last_start = max(len(sentences) - window, 0)
    for i in range(0, last_start + 1, stride):
        group = sentences[i : i + window]
        yield Span(group[0].start, group[-1].end)
    if last_start % stride:
        group = sentences[last_start:]
        yield Span(group[0].start, group[-1].end)
