"""Reading JSON Lines: one shared reader, so every command splits and reports lines alike."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import Problem
from pipeline.text import REENCODE_HINT, bad_byte_reason, wide_encoding


def iter_jsonl_objects(path: Path) -> Iterator[tuple[int, dict | Problem]]:
    """(line number, object or problem) for each non-blank line, streaming.

    Lines split on `\\n` only, so U+2028 and friends inside strings never break a record. Each
    line is decoded on its own: a bad byte costs that line only (reported with its true number),
    and a UTF-8 byte-order mark before the first record is ignored.
    """
    with open(path, "rb") as handle:
        yield from iter_jsonl_stream(handle, str(path))


def iter_jsonl_stream(handle: BinaryIO, name: str) -> Iterator[tuple[int, dict | Problem]]:
    """`iter_jsonl_objects` over an open binary stream (a decompressed file, a zip member);
    `name` is where problems say they are."""
    for number, raw in enumerate(handle, start=1):
        if number == 1:
            wide = wide_encoding(raw)
            if wide:
                yield 1, Problem(name, 1, "encoding", f"{wide} text, not UTF-8; {REENCODE_HINT}")
                return
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = bad_byte_reason(raw[exc.start], exc.start)
            yield number, Problem(name, number, "encoding", reason)
            continue
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, Problem(name, number, "json", f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(data, dict):
            yield number, Problem(name, number, "json", "expected a JSON object")
            continue
        yield number, data
