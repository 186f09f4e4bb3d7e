"""The document: one article as read, before it is cut into passages.

Its own module so that every reader (`articles`, `webpages`) builds the same thing without
importing each other; `pipeline.articles.Document` is the same class.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    language: str = ""  # ISO 639 code, declared by the input or identified; "" if undetermined
