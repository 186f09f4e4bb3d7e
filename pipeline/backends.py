"""Backends: what turns a padded batch of token features into logits (PyTorch or ONNX Runtime).

`load_backend` is the one place a runtime is chosen and built for a model folder; a
`StanceClassifier` only receives what it returns. A new runtime is one class with the members of
`LogitsBackend` and one branch in `load_backend` (sentence-transformers' `backend/load.py` is
the model for this).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.errors import ModelFolderError
from pipeline.offline import offline_hub

BACKENDS = ("torch", "onnx", "onnx-int8")


class LogitsBackend(Protocol):
    """A runtime that scores padded features.

    `name` is what manifests and `metrics.json` record (`torch`, `onnx`, `onnx-int8`);
    `tensors` is what the tokenizer should pad into (`pt` or `np`); `device` is where it runs;
    `onnx_graph` describes the graph that scores (file and hashes, `None` on PyTorch);
    `logits` returns a float32 array of shape (batch, labels).
    """

    name: str
    tensors: str
    device: Any
    onnx_graph: dict | None

    def logits(self, features: dict) -> np.ndarray: ...


class TorchLogits:
    """PyTorch: features moved to the model's device, logits back as float32 numpy."""

    name = "torch"
    tensors = "pt"
    onnx_graph = None

    def __init__(self, model, device):
        self.model = model
        self.device = device

    def logits(self, features: dict) -> np.ndarray:
        features = {k: v.to(self.device, non_blocking=True) for k, v in features.items()}
        return self.model(**features).logits.float().cpu().numpy()


def pick_device(requested: str = "auto"):
    """`auto` takes the GPU when there is one; `cuda` without a GPU is an error."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelFolderError("device 'cuda' requested but no CUDA GPU is available")
    return torch.device(requested)


def resolve_backend(name: str, device) -> str:
    """The backend `name` means on `device`: `auto` is ONNX Runtime on CPU when it is installed,
    PyTorch otherwise (always PyTorch on GPU).

    Raises:
        ModelFolderError: an unknown name, or an ONNX backend asked to run on a GPU.
    """
    from pipeline.onnx_backend import onnx_available

    if name == "auto":
        name = "onnx" if device.type == "cpu" and onnx_available() else "torch"
    if name not in BACKENDS:
        raise ModelFolderError(f"unknown backend {name!r} (expected {', '.join(BACKENDS)})")
    if name != "torch" and device.type != "cpu":
        raise ModelFolderError(f"backend {name!r} runs on CPU only; use backend 'torch'")
    return name


def load_torch_model(folder: Path):
    """The fine-tuned PyTorch model of a model folder, on CPU, from safetensors only."""
    from transformers import AutoModelForSequenceClassification

    with offline_hub():
        return AutoModelForSequenceClassification.from_pretrained(
            folder, use_safetensors=True, local_files_only=True
        )


def load_backend(
    folder: Path, name: str, device: str, tokenizer, weights_sha256: str
) -> LogitsBackend:
    """Build the runtime `name` (`torch`, `onnx`, `onnx-int8` or `auto`) for a checked model
    folder on `device` (`auto`, `cpu` or `cuda`).

    ONNX backends score with the graph cached in `<folder>/onnx/` when `source.json` records it
    as made from these weights (`weights_sha256`), and export (and quantize) it otherwise; no
    PyTorch copy of the weights is kept beside the graph.

    Raises:
        ModelFolderError: see `pick_device` and `resolve_backend`; a graph that cannot be
            written or read (see `pipeline.onnx_backend`).
    """
    torch_device = pick_device(device)
    name = resolve_backend(name, torch_device)
    if name == "torch":
        import torch

        model = load_torch_model(folder).to(torch_device).eval()
        if torch_device.type == "cuda":
            # Half precision on GPU: about twice the throughput, same labels in practice.
            model.to(torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
        return TorchLogits(model, torch_device)
    import torch

    from pipeline.onnx_backend import OnnxEncoder, graph_for

    graph = graph_for(folder, name, tokenizer, weights_sha256, lambda: load_torch_model(folder))
    return OnnxEncoder(graph, threads=torch.get_num_threads(), name=name)
