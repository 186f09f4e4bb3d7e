"""What produced an output: package versions, data and model hashes, time.

Recorded in every model folder and report so a result can be traced and reproduced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import sys
from importlib import metadata
from pathlib import Path

TRACKED_PACKAGES = (
    "stance-pipeline",
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "scikit-learn",
    "numpy",
    "pydantic",
    "blingfire",
)


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the packages that influence results ("not installed" if absent)."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in TRACKED_PACKAGES + extra:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks so large weight files do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def hash_folder(path: str | Path, exclude: tuple[str, ...] = ()) -> str:
    """One SHA-256 over every file in a folder (names and contents), in sorted order.

    Folders named in `exclude` (derived caches such as `onnx/`), at any depth, are left out:
    a model folder may hold another model folder (a cascade's `screen/`) with its own cache.
    """
    digest = hashlib.sha256()
    root = Path(path)
    files = (
        p
        for p in root.rglob("*")
        if p.is_file() and not set(p.relative_to(root).parts[:-1]) & set(exclude)
    )
    for file in sorted(files):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
