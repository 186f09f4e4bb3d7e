"""Reading JSON Lines: one shared reader, so every command splits and reports lines alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import Problem


def iter_jsonl_objects(path: Path) -> Iterator[tuple[int, dict | Problem]]:
    """(line number, object or problem) for each non-blank line; lines split on `\\n` only,
    so U+2028 and friends inside strings never break a record."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield 0, Problem(str(path), 0, "file", f"not UTF-8 text ({exc.reason})")
        return
    for number, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, Problem(str(path), number, "json", f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(data, dict):
            yield number, Problem(str(path), number, "json", "expected a JSON object")
            continue
        yield number, data
