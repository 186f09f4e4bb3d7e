"""StanceClassifier: a fine-tuned model folder, loaded once, scoring passages in batches.

A model folder is self-describing: weights (safetensors only), tokenizer, the resolved config,
`meta.json` (labels, versions, hashes, metrics) and a model card. Loading checks all of it and
names what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from pipeline.backends import LogitsBackend
from pipeline.decision import DecisionRule
from pipeline.errors import ModelFolderError
from pipeline.offline import offline_hub

REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "meta.json", "config.yaml")
# Padded tokens per batch. On CPU small batches stay in cache (2,048 was fastest and used the
# least memory in benchmarks/throughput.py); a GPU needs large batches to be kept busy.
CPU_TOKENS_PER_BATCH = 2048
GPU_TOKENS_PER_BATCH = 65536


def check_model_folder(path: str | Path) -> Path:
    """Return the folder if it holds every required file.

    Raises:
        ModelFolderError: naming the missing files.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelFolderError(f"{folder}: model folder not found")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(
            f"{folder}: not a complete model folder, missing {', '.join(missing)} "
            f"(a model folder holds {', '.join(REQUIRED_FILES)})"
        )
    return folder


def read_meta(folder: Path) -> dict:
    """`meta.json` of a model folder, checked for the keys loading needs.

    Raises:
        ModelFolderError: unreadable, not a JSON object, or a key missing.
    """
    path = folder / "meta.json"
    meta = _read_json_object(path, "restore the model folder from its source or retrain")
    missing = [key for key in ("labels", "max_length", "window_stride") if key not in meta]
    if missing:
        raise ModelFolderError(
            f"{path}: missing {', '.join(missing)}; restore the model folder or retrain"
        )
    return meta


def _read_json_object(path: Path, fix: str) -> dict:
    """A model folder's JSON file as an object; anything else is a ModelFolderError saying `fix`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{path}: not valid JSON ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path}: expected a JSON object")
    return data


def refuse_remote_code(folder: Path) -> None:
    """Refuse a folder whose config names custom Python code (`auto_map`): loading it would
    mean running code shipped with the model, which this tool never does (no
    `trust_remote_code`).

    Raises:
        ModelFolderError: `config.json` is not a JSON object, or a config has `auto_map`.
    """
    for name in ("config.json", "tokenizer_config.json"):
        path = folder / name
        if not path.is_file():
            continue
        data = _read_json_object(path, "restore the model folder or retrain")
        if "auto_map" in data:
            raise ModelFolderError(
                f"{path}: auto_map: the model asks to run its own Python code "
                f"({', '.join(sorted(map(str, data['auto_map'])))}), which this tool never does "
                "(trust_remote_code stays off); use a model with a standard transformers "
                "architecture, or delete auto_map if the folder was trained by `stance train`"
            )


# What transformers raises for a damaged file: JSON and "unrecognized model" errors are
# ValueErrors, a missing entry a KeyError; the Rust tokenizers library raises a plain Exception
# ("Model missing", "data did not match any variant") for a tokenizer.json of the wrong shape.
DAMAGED_PART_ERRORS = (OSError, ValueError, KeyError)
DAMAGED_TOKENIZER_ERRORS = (Exception,)


def _load_part(folder: Path, files: str, load, errors: tuple = DAMAGED_PART_ERRORS):
    """`load()` a model folder part with transformers; a damaged file (empty, truncated, not
    the expected JSON) becomes an error that names it, not a library traceback.

    Raises:
        ModelFolderError: transformers could not read the part.
    """
    try:
        with offline_hub():
            return load()
    except errors as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFolderError(
            f"{folder}: cannot read its {files} ({reason}); restore the model folder from its "
            "source, or retrain"
        ) from None


def verify_weights(folder: Path, meta: dict) -> str:
    """Check `model.safetensors` is complete and, when `meta.json` records its hash (models
    trained since it does), unchanged since training; return its SHA-256.

    Raises:
        ModelFolderError: the file is truncated or damaged, or differs from the training record.
    """
    from safetensors import SafetensorError, safe_open

    from pipeline.provenance import sha256_file

    path = folder / "model.safetensors"
    try:
        with safe_open(str(path), framework="numpy"):
            pass
    except SafetensorError as exc:
        raise ModelFolderError(
            f"{path}: incomplete or damaged weights file ({exc}); copy the model folder again "
            "from its source, or retrain"
        ) from None
    actual = sha256_file(path)
    recorded = meta.get("weights_sha256")
    if recorded and actual != recorded:
        raise ModelFolderError(
            f"{path}: sha256 {actual[:12]}... differs from {recorded[:12]}... recorded in "
            "meta.json: weights_sha256 at training: the weights were changed or replaced after "
            "training, so the labels, thresholds and metrics in meta.json do not describe them; "
            "restore the original file or retrain"
        )
    return actual


def length_sorted_batches(
    lengths: Sequence[int], tokens_per_batch: int, max_batch_size: int
) -> list[np.ndarray]:
    """Group item indices into batches of similar length under a padded-token budget.

    Sorting by length means little padding; a token budget (not a fixed count) keeps memory
    flat whether passages are headlines or long paragraphs.
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches, current, longest = [], [], 0
    for index in order:
        length = lengths[index]
        new_longest = max(longest, length)
        if current and (
            new_longest * (len(current) + 1) > tokens_per_batch or len(current) >= max_batch_size
        ):
            batches.append(np.asarray(current))
            current, new_longest = [], length
        current.append(index)
        longest = new_longest
    if current:
        batches.append(np.asarray(current))
    return batches


class StanceClassifier:
    """Scores passages with a fine-tuned transformer; probabilities follow `labels`.

    Use `StanceClassifier.load(folder)`; the constructor only stores its arguments. The runtime
    that computes logits (`logits_backend`) is built by `backends.load_backend`, or given
    directly (training scores dev with `TorchLogits` around the model it is training).
    """

    def __init__(
        self,
        logits_backend: LogitsBackend,
        tokenizer,
        labels: Sequence[str],
        max_length: int,
        window_stride: int,
        temperature: float = 1.0,
        meta: dict | None = None,
        tokens_per_batch: int | None = None,
        max_batch_size: int = 256,
        decision: DecisionRule | None = None,
        context: str = "none",
        folder: Path | None = None,
    ):
        self.logits_backend = logits_backend
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = max_length
        self.window_stride = window_stride
        self.temperature = temperature
        self.meta = meta or {}
        device = logits_backend.device
        on_gpu = getattr(device, "type", str(device)) == "cuda"
        self.tokens_per_batch = tokens_per_batch or (
            GPU_TOKENS_PER_BATCH if on_gpu else CPU_TOKENS_PER_BATCH
        )
        self.max_batch_size = max_batch_size
        self.decision = decision or DecisionRule()
        self.context = context  # "none", "previous" or "headline" (pipeline/context.py)
        self.folder = folder  # the model folder it was loaded from (its actor dictionary)

    @property
    def backend(self) -> str:
        """The runtime that scores (`torch`, `onnx`, `onnx-int8`), as manifests record it."""
        return self.logits_backend.name

    @property
    def device(self):
        """Where the runtime scores (`cpu` or a `torch.device`)."""
        return self.logits_backend.device

    @property
    def onnx_graph(self) -> dict | None:
        """The ONNX graph that scores (file and hashes, for manifests); None on PyTorch."""
        return self.logits_backend.onnx_graph

    @property
    def model(self):
        """The PyTorch model that scores; None when an ONNX graph does."""
        return getattr(self.logits_backend, "model", None)

    @classmethod
    def load(
        cls, path: str | Path, device: str = "auto", backend: str = "auto", **kwargs
    ) -> StanceClassifier:
        """Load a model folder written by `stance train`.

        Args:
            path: the model folder (e.g. `models/default/model-best`).
            device: `auto` (GPU when available), `cpu` or `cuda`.
            backend: `torch`; `onnx` (ONNX Runtime, CPU, same labels as torch); `onnx-int8`
                (quantized, fastest, over 99% label agreement); `auto`: ONNX Runtime on CPU
                when it is installed, PyTorch otherwise (always PyTorch on GPU).

        Raises:
            ModelFolderError: the folder is missing files, its labels are inconsistent, its
                weights are damaged or changed since training, it asks to run custom code
                (`auto_map`), or the backend cannot run on the device.
        """
        from transformers import AutoConfig, AutoTokenizer

        from pipeline.backends import load_backend

        folder = check_model_folder(path)
        meta = read_meta(folder)
        refuse_remote_code(folder)
        weights_sha256 = verify_weights(folder, meta)
        model_config = _load_part(
            folder, "config.json", lambda: AutoConfig.from_pretrained(folder, local_files_only=True)
        )
        id2label = [model_config.id2label[i] for i in range(model_config.num_labels)]
        if id2label != meta["labels"]:
            raise ModelFolderError(
                f"{folder}: label order in config.json {id2label} differs from meta.json "
                f"{meta['labels']}"
            )
        tokenizer = _load_part(
            folder,
            "tokenizer files (tokenizer.json, tokenizer_config.json)",
            lambda: AutoTokenizer.from_pretrained(folder, local_files_only=True),
            DAMAGED_TOKENIZER_ERRORS,
        )
        logits_backend = load_backend(folder, backend, device, tokenizer, weights_sha256)
        calibration = meta.get("calibration", {})
        return cls(
            logits_backend,
            tokenizer,
            meta["labels"],
            meta["max_length"],
            meta["window_stride"],
            temperature=float(calibration.get("temperature", 1.0)),
            meta=meta,
            decision=DecisionRule.from_meta(meta),
            context=meta.get("context", "none"),
            folder=folder,
            **kwargs,
        )

    def encode(self, texts: Sequence[str], contexts: Sequence[str] | None = None, **kwargs):
        """Tokenise passages, with their contexts as a first segment when the model reads them
        (`self.context` is not "none"); `contexts=None` then means no context for any text."""
        from pipeline.context import trim_context

        if self.context == "none":
            return self.tokenizer(list(texts), truncation=True, **kwargs)
        contexts = [""] * len(texts) if contexts is None else list(contexts)
        return self.tokenizer(
            [trim_context(c) for c in contexts], list(texts), truncation="only_second", **kwargs
        )

    def window_logits(
        self, texts: Sequence[str], contexts: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Logits for every window of every text, and which text each window belongs to.

        A text longer than `max_length` tokens becomes several windows overlapping by
        `window_stride` tokens (its context repeated in each), so no part of a passage is
        silently dropped.
        """
        import torch

        encoded = self.encode(
            texts,
            contexts,
            max_length=self.max_length,
            stride=self.window_stride,
            return_overflowing_tokens=True,
            padding=False,
        )
        owners = np.asarray(encoded["overflow_to_sample_mapping"])
        input_ids = encoded["input_ids"]
        logits = np.empty((len(input_ids), len(self.labels)), dtype=np.float32)
        batches = length_sorted_batches(
            [len(ids) for ids in input_ids], self.tokens_per_batch, self.max_batch_size
        )
        keys = [key for key in encoded if key != "overflow_to_sample_mapping"]
        backend = self.logits_backend
        with torch.inference_mode():
            for batch in batches:
                features = self.tokenizer.pad(
                    {key: [encoded[key][i] for i in batch] for key in keys},
                    return_tensors=backend.tensors,
                )
                logits[batch] = backend.logits(features)
        return logits, owners

    def predict_proba(
        self, texts: Iterable[str], contexts: Sequence[str] | None = None
    ) -> np.ndarray:
        """Calibrated probabilities, shape (n, len(labels)), columns in `self.labels` order.

        Texts longer than the model window are scored over overlapping windows and their
        window probabilities averaged. `contexts` (the previous sentence or the headline of each
        text) are read only by models trained with context.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits, owners = self.window_logits(texts, contexts)
        return self.proba_from_logits(logits, owners, len(texts))

    def proba_from_logits(
        self, logits: np.ndarray, owners: np.ndarray, n_texts: int, temperature: float | None = None
    ) -> np.ndarray:
        """Per-text probabilities from window logits (see `window_logits`): each window's
        softmax at `temperature` (default: the calibrated one), averaged over a text's windows."""
        window_probs = softmax(logits / (temperature or self.temperature))
        sums = np.zeros((n_texts, len(self.labels)), dtype=np.float64)
        np.add.at(sums, owners, window_probs)
        counts = np.bincount(owners, minlength=n_texts)[:, None]
        return (sums / counts).astype(np.float32)

    def predict(self, texts: Iterable[str], contexts: Sequence[str] | None = None) -> list[str]:
        """The label for each text by the model's decision rule (`self.decision`): a stance only
        when 1 - p(none) reaches the threshold chosen at training time; argmax without one."""
        return self.predict_labels_from(self.predict_proba(texts, contexts))

    def predict_labels_from(self, probabilities: np.ndarray) -> list[str]:
        """Labels for probability rows (from `predict_proba`) by the decision rule."""
        return [self.labels[i] for i in self.decision.decide(probabilities, self.labels)]

    def score_articles(
        self,
        articles,
        unit: str = "sentence",
        window: int = 1,
        actors_path: str | Path | None = None,
    ):
        """Yield passage records for articles given as dicts (`text`, optional `id`, `title`,
        `date`, `source`, `url`): the same rows `stance predict` writes.

        Holders come from `actors_path`, by default the model folder's own actor dictionary.
        A dict without text is logged and skipped.
        """
        import logging

        from pipeline.actors import load_actor_dictionary
        from pipeline.articles import Document
        from pipeline.scoring import SegmentOptions, iter_scored_documents

        def documents():
            for number, article in enumerate(articles):
                text = article.get("text")
                if not isinstance(text, str) or not text.strip():
                    logging.getLogger(__name__).warning(
                        "article %s has no text; skipped", article.get("id", number)
                    )
                    continue
                yield Document(
                    doc_id=str(article.get("id", number)),
                    text=text,
                    **{k: str(article.get(k) or "") for k in ("title", "date", "source", "url")},
                )

        yield from iter_scored_documents(
            self,
            documents(),
            SegmentOptions(unit, window),
            load_actor_dictionary(actors_path, self.folder),
        )


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
