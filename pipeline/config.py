"""Typed run configuration: one YAML file is the whole truth about a run.

Every key has one default here. Unknown keys and wrong types fail at load time with the dotted
key named; command-line overrides may only set keys that exist. The resolved config (defaults
filled in, overrides applied) is saved with every model and report.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Which annotations to use and how to split them."""

    paths: list[str] = Field(default=["annotations/"], min_length=1)
    split: Literal["group", "chronological"] = "group"
    dev_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0, lt=0.5)


class ModelConfig(_Section):
    """The pretrained encoder to fine-tune and how much text it sees at once."""

    base_model: str = "all-mpnet-base-v2"
    max_length: int = Field(default=128, ge=16, le=512)
    window_stride: int = Field(default=32, ge=0)
    context: Literal["none", "previous", "headline"] = "none"


class TrainConfig(_Section):
    """The fine-tuning loop."""

    epochs: int = Field(default=4, ge=1)
    batch_size: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=3e-5, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    class_weighting: Literal["balanced", "none"] = "balanced"
    early_stopping_patience: int = Field(default=2, ge=1)
    min_examples_per_label: int = Field(default=20, ge=1)
    eval_batch_size: int = Field(default=64, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    none_per_stance: float | None = Field(default=1.0, gt=0)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    frozen_layers: int = Field(default=0, ge=0)


class DecisionConfig(_Section):
    """How four probabilities become one label (see pipeline/decision.py)."""

    rule: Literal["threshold", "argmax"] = "threshold"
    target_precision: float = Field(default=0.8, gt=0, le=1)
    none_rate: float = Field(default=0.87, gt=0, lt=1)
    min_threshold: float = Field(default=0.5, ge=0, lt=1)


class EvaluateConfig(_Section):
    """Baselines, intervals, cross-validation and the quality gate."""

    baselines: list[Literal["majority", "tfidf_lr", "tfidf_svm", "embeddings_lr"]] = [
        "majority",
        "tfidf_lr",
        "tfidf_svm",
        "embeddings_lr",
    ]
    cv_folds: int = Field(default=5, ge=2)
    baseline_cv: bool = True
    bootstrap_samples: int = Field(default=1000, ge=100)
    macro_f1_floor: float = Field(default=0.6, ge=0, le=1)
    gate_against_best_baseline: bool = True
    report_dir: str = "reports"
    articles: str | None = "../shared/realnews"
    article_precision_floor: float = Field(default=0.0, ge=0, le=1)
    article_f1_floor: float = Field(default=0.0, ge=0, le=1)
    # The runtime the fine-tuned model is evaluated with (recorded in metrics.json). torch is
    # the runtime it was trained and calibrated in; onnx/onnx-int8 export into the model folder.
    backend: Literal["torch", "onnx", "onnx-int8"] = "torch"


class FieldsConfig(_Section):
    """Which field of an input record (JSONL, CSV, Parquet) holds each part of an article.

    The defaults read records whose fields are named as in the product's documents; a news-please
    JSONL dump needs `{text: maintext, date: date_publish}`.
    """

    id: str = Field(default="id", min_length=1)
    text: str = Field(default="text", min_length=1)
    title: str = Field(default="title", min_length=1)
    date: str = Field(default="date", min_length=1)
    source: str = Field(default="source", min_length=1)
    url: str = Field(default="url", min_length=1)
    language: str = Field(default="language", min_length=1)


class DedupConfig(_Section):
    """Wire copies (see pipeline/dedup.py): articles whose word shingles overlap by at least
    `threshold` (estimated Jaccard similarity) are one story, counted once in the actor table."""

    enabled: bool = True
    threshold: float = Field(default=0.7, gt=0, le=1)


# An ISO 639 code as the language identifier (py3langid) gives it: `en`, `es`, `ar`, `pcm`.
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]


class PredictConfig(_Section):
    """Batch scoring of new articles."""

    unit: Literal["sentence", "record"] = "sentence"
    window: int = Field(default=1, ge=1)
    stride: int | None = Field(default=None, ge=1)
    max_file_bytes: int = Field(default=20_000_000, ge=1)
    documents_per_shard: int = Field(default=2000, ge=1)
    tokens_per_batch: int | None = Field(default=None, ge=256)
    holder_context_sentences: int = Field(default=3, ge=0)
    # None: the model folder's own actor dictionary (`actors.yaml`, copied there at training),
    # else configs/actors.yaml. A path here (or --actors) replaces it.
    actors: str | None = None
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    fields: FieldsConfig = FieldsConfig()
    # The languages the model was trained for; articles in others are skipped and reported.
    # None scores every language.
    languages: list[LanguageCode] | None = Field(default=["en"], min_length=1)
    max_compression_ratio: int = Field(default=100, ge=1)
    dedup: DedupConfig = DedupConfig()


class DistillConfig(_Section):
    """`stance distill`: training the config's model (the student) on a teacher model's
    probabilities over unlabelled articles, beside the labelled training split."""

    # Softens both distributions before they are compared (Hinton et al. 2015): above 1 the
    # student also learns how the teacher ranks the unlikely labels.
    # Finite: an infinite temperature or weight turns the loss into NaN.
    temperature: float = Field(default=2.0, gt=0, allow_inf_nan=False)
    # The soft-target loss relative to the labelled loss (each batch is one or the other).
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    # The first N passages of the unlabelled inputs (input order) are scored and used; None: all.
    max_passages: int | None = Field(default=None, ge=1)


class PartiesConfig(_Section):
    """The party extractor (pipeline/party_model.py): a token-classification model, trained
    after the stance model into `<model folder>/parties/`, that marks the holder and the target
    of stance passages; the dictionary rules decide where it is unsure or absent."""

    enabled: bool = False
    base_model: str = "all-MiniLM-L6-v2"
    epochs: int = Field(default=4, ge=1)
    batch_size: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=5e-5, gt=0)
    max_length: int = Field(default=128, ge=32)
    # Embeddings and this many lowest layers stay as pretrained (faster on CPU).
    frozen_layers: int = Field(default=0, ge=0)
    # Statements before a passage in its document given as context ("he said", "the group").
    context_sentences: int = Field(default=2, ge=0)
    # The span score under which the dictionary rules attribute instead.
    min_score: float = Field(default=0.7, ge=0, le=1)


class Config(_Section):
    """A whole run: data, model, training. The seed makes CPU runs repeatable."""

    seed: int = 13
    run_name: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]+$")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    decision: DecisionConfig = DecisionConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    predict: PredictConfig = PredictConfig()
    distill: DistillConfig = DistillConfig()
    parties: PartiesConfig = PartiesConfig()


def _format_validation_error(error: ValidationError, origin: str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{origin}: {key}: {message}")
    return "\n".join(lines)


def _known_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_known_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def parse_override(text: str) -> tuple[str, Any]:
    """`train.epochs=3` -> ("train.epochs", 3); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. train.epochs=3")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc})") from None
    return key.strip(), value


def apply_overrides(data: dict, overrides: dict[str, Any]) -> dict:
    """Return a copy of `data` with dotted-key overrides applied; only existing keys may be set.

    Raises:
        ConfigError: the key does not exist in the schema.
    """
    known = set(_known_keys(Config))
    result = copy.deepcopy(data)
    for key, value in overrides.items():
        if key not in known:
            raise ConfigError(
                f"override {key}: unknown key (known keys: {', '.join(sorted(known))})"
            )
        node = result
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key}: {part} is not a section")
        node[last] = value
    return result


def _deep_merge(base: dict, changes: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_yaml_file(path: str | Path, what: str):
    """The data in a YAML file (`what` names it in messages: "config file", "actor dictionary").

    Raises:
        ConfigError: missing, a folder, unreadable, not UTF-8 (naming the line of the first bad
            byte) or not valid YAML; each message says how to fix it.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a folder; give the path of the {what} (a .yaml file)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the {what} as UTF-8"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def read_config_data(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The raw mapping of a config file, with its `base:` file (a path relative to it) merged
    underneath: a config that names a base states only what differs from it.

    Raises:
        ConfigError: missing file, bad YAML or encoding, a non-mapping, or a cycle of bases.
    """
    path = Path(path)
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: base: configs include each other in a cycle")
    raw = read_yaml_file(path, "config file") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected a path to another config")
    return _deep_merge(read_config_data(path.parent / base, (*_seen, path.resolve())), raw)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Load and validate a YAML config (with its `base:`), applying dotted-key overrides.

    Raises:
        ConfigError: the file is missing or not YAML, or a key is unknown or of the wrong type
            (the message names the file and the dotted key).
    """
    path = Path(path)
    raw = read_config_data(path)
    merged = apply_overrides(raw, overrides or {})
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, str(path))) from None


def config_to_dict(config: Config) -> dict:
    """The resolved config as plain data, for YAML/JSON output."""
    return config.model_dump(mode="json")


def dump_config(config: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (it loads back to an equal Config)."""
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False), encoding="utf-8")
