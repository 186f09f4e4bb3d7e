"""ONNX Runtime backend for CPU scoring: the same model, about 1.8x faster than PyTorch fp32.

On CPU, scoring is bound by matrix multiplications; ONNX Runtime's fused BERT kernels do them
faster, and its dynamic int8 quantization (uint8 weights, reduced range, per channel) faster
still. `benchmarks/throughput.py` measures both and their label agreement with PyTorch.

The exported graphs are derived files, cached in `<model folder>/onnx/`. `onnx/source.json`
records the SHA-256 of the weights each cache was made from and of every graph file; a graph is
used only when both still match, and is re-created from the safetensors weights otherwise
(missing, stale after the weights changed, truncated or edited). So the weights, which the model
folder's fingerprint covers, determine what scores, and the graphs can stay out of that hash.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from pipeline.errors import ModelFolderError, PipelineError
from pipeline.outputs import atomic_path
from pipeline.provenance import sha256_file

ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.uint8.onnx"
SOURCE_FILE = "source.json"
log = logging.getLogger(__name__)


def write_cache_file(write, target: Path) -> Path:
    """`write(temporary)`, then move it over `target` (`outputs.atomic_path`).

    Raises:
        ModelFolderError: the cache folder cannot be written (names it and the way around it).
    """
    try:
        with atomic_path(target) as temporary:
            write(temporary)
    except (OSError, PipelineError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ModelFolderError(
            f"{target}: cannot write the ONNX cache ({reason}); make "
            f"{target.parent} writable, or score with --set predict.backend=torch"
        ) from None
    return target


def _read_source_record(cache: Path) -> dict:
    """`onnx/source.json`, or an empty record when it is missing or unreadable."""
    try:
        record = json.loads((cache / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) and isinstance(record.get("graphs"), dict) else {}


def _record_graph(cache: Path, name: str, weights_sha256: str) -> None:
    """Add graph `name` (with its hash) to the record of the cache made from `weights_sha256`;
    a record made from other weights is replaced, not extended."""
    record = _read_source_record(cache)
    if record.get("weights_sha256") != weights_sha256:
        record = {"weights_sha256": weights_sha256, "graphs": {}}
    record["graphs"][name] = sha256_file(cache / name)
    write_cache_file(
        lambda path: path.write_text(json.dumps(record, indent=2), encoding="utf-8"),
        cache / SOURCE_FILE,
    )


def cached_graph(folder: str | Path, name: str, weights_sha256: str) -> Path | None:
    """The cached graph `name` if it was exported from these weights and is unchanged since;
    None when it must be (re-)created. A stale or altered graph is logged, never used."""
    cache = Path(folder) / ONNX_DIR
    graph = cache / name
    if not graph.is_file():
        return None
    record = _read_source_record(cache)
    if record.get("weights_sha256") != weights_sha256:
        log.warning(
            "%s was not exported from the current model.safetensors (stale or unrecorded "
            "cache); exporting it again",
            graph,
        )
        return None
    if record["graphs"].get(name) != sha256_file(graph):
        log.warning(
            "%s differs from the graph recorded in %s (changed or incomplete); exporting it again",
            graph,
            SOURCE_FILE,
        )
        return None
    return graph


def graph_provenance(graph: Path) -> dict:
    """What a run's manifest records about the graph that scored: its file (relative to the
    model folder), its SHA-256 and that of the weights it was exported from, as `source.json`
    holds them (the graph was checked against both when it was loaded)."""
    record = _read_source_record(graph.parent)
    return {
        "file": f"{ONNX_DIR}/{graph.name}",
        "sha256": record.get("graphs", {}).get(graph.name),
        "weights_sha256": record.get("weights_sha256"),
    }


def export_onnx(folder: str | Path, model, tokenizer, weights_sha256: str) -> Path:
    """Export the PyTorch model to `<folder>/onnx/model.onnx` (dynamic batch and length) and
    record the weights it came from; an earlier cache (and its quantized graph) is replaced."""
    import torch

    target = Path(folder) / ONNX_DIR / FP32_FILE
    try:
        target.parent.mkdir(exist_ok=True)
        (target.parent / INT8_FILE).unlink(missing_ok=True)  # derived from the graph replaced
    except OSError as exc:
        raise ModelFolderError(
            f"{target.parent}: cannot write the ONNX cache ({exc.strerror or exc}); make the "
            "model folder writable, or score with --set predict.backend=torch"
        ) from None
    names = list(tokenizer.model_input_names)
    example = tokenizer(
        ["a short example", "another example sentence"], padding=True, return_tensors="pt"
    )
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    axes["logits"] = {0: "batch"}
    model = model.float().to("cpu").eval()

    class ByName(torch.nn.Module):
        """Positional graph inputs -> the model's keyword arguments, in tokenizer order."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs, strict=True))).logits

    def write(path: Path) -> None:
        import warnings

        with warnings.catch_warnings():
            # Tracing warns about Python-level shape checks; the graph keeps dynamic axes.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                ByName(),
                tuple(example[n] for n in names),
                str(path),
                input_names=names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )

    write_cache_file(write, target)
    _record_graph(target.parent, FP32_FILE, weights_sha256)
    return target


def quantize_onnx(fp32_path: Path, weights_sha256: str) -> Path:
    """Dynamic quantization to uint8 weights (reduced range, per channel) next to the fp32 file,
    recorded like it.

    These settings kept label agreement with PyTorch above 99% on the sample articles, where
    plain per-tensor int8 did not.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = fp32_path.with_name(INT8_FILE)
    write_cache_file(
        lambda path: quantize_dynamic(
            str(fp32_path),
            str(path),
            weight_type=QuantType.QUInt8,
            per_channel=True,
            reduce_range=True,
        ),
        target,
    )
    _record_graph(target.parent, INT8_FILE, weights_sha256)
    return target


def graph_for(folder: Path, backend: str, tokenizer, weights_sha256: str, load_model) -> Path:
    """The graph `backend` (`onnx` or `onnx-int8`) scores with: the cached one when it was
    made from these weights, else exported from `load_model()` (only called then) and, for
    `onnx-int8`, quantized."""
    graph = cached_graph(folder, FP32_FILE, weights_sha256)
    if graph is None:
        graph = export_onnx(folder, load_model(), tokenizer, weights_sha256)
    if backend == "onnx-int8":
        graph = cached_graph(folder, INT8_FILE, weights_sha256) or quantize_onnx(
            graph, weights_sha256
        )
    return graph


class OnnxEncoder:
    """Runs an exported graph: padded numpy features in, logits out (a
    `backends.LogitsBackend`, built by `backends.load_backend`)."""

    tensors = "np"  # what the tokenizer pads into
    device = "cpu"  # ONNX Runtime's CPU provider

    def __init__(self, path: Path, threads: int | None = None, name: str = "onnx"):
        """`name` is the backend it serves (`onnx` or `onnx-int8`), as manifests record it.

        Raises:
            ModelFolderError: ONNX Runtime cannot read the graph (names it and how to fix it).
        """
        import onnxruntime as ort
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except (
            ort_errors.InvalidProtobuf,
            ort_errors.InvalidGraph,
            ort_errors.Fail,
            ort_errors.NoSuchFile,
        ) as exc:
            reason = str(exc).strip().splitlines()[0]
            raise ModelFolderError(
                f"{path}: ONNX Runtime cannot load this graph ({reason}); delete the "
                f"{path.parent.name}/ folder, it is exported again from the weights on the next run"
            ) from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.name = name
        self.onnx_graph = graph_provenance(path)  # checked against source.json when chosen

    def logits(self, features: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: features[name].astype(np.int64) for name in self.input_names}
        return self.session.run(["logits"], feed)[0].astype(np.float32)

    __call__ = logits


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
