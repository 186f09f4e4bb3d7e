"""Shared fixtures. Every test runs offline: no hub access, no network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent


def statement(**overrides) -> dict:
    """A valid authored statement; override any field."""
    record = {
        "id": "t-0001",
        "text": "The rebels said they were ready to talk.",
        "label": "accept",
        "holder": "FARC",
        "target": "Colombian Government",
        "condition": "",
        "doc_id": "doc-1",
        "source": "authored",
        "date": "2015-03-01",
        "char_start": None,
        "char_end": None,
        "conflict": "Colombia",
        "annotator": "test",
        "note": "",
    }
    record.update(overrides)
    return record


def write_jsonl(path: Path, records: list) -> Path:
    """Write records (dicts, or raw strings for deliberately broken lines) as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def make_statement():
    return statement


@pytest.fixture
def jsonl(tmp_path):
    def _write(name: str, records: list) -> Path:
        return write_jsonl(tmp_path / name, records)

    return _write
