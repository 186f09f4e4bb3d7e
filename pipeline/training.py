"""Fine-tune a pretrained encoder for stance classification: one readable loop, top to bottom.

`train(config)` loads and splits the annotations, fine-tunes with a class-weighted loss, linear
warmup and decay, gradient clipping and early stopping on dev macro-F1, restores the best epoch,
fits a temperature on dev, scores dev and test, and writes a self-describing model folder.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import resource
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.actors import DEFAULT_ACTORS, MODEL_ACTORS_FILE, ActorDictionary
from pipeline.annotations import Statement, hash_files
from pipeline.backends import TorchLogits, pick_device
from pipeline.base_models import resolve_base_model
from pipeline.calibration import fit_temperature
from pipeline.classifier import StanceClassifier
from pipeline.config import Config, config_to_dict, dump_config
from pipeline.context import statement_contexts
from pipeline.decision import choose_threshold
from pipeline.errors import ConfigError, DataError, PipelineError
from pipeline.labels import LABELS
from pipeline.metrics import classification_metrics, expected_calibration_error
from pipeline.model_card import write_model_card
from pipeline.offline import offline_hub
from pipeline.outputs import atomic_folder
from pipeline.provenance import package_versions, sha256_file, utc_now
from pipeline.splits import Split, split_for_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Where the model went and how it scored."""

    model_dir: Path
    metrics: dict
    meta: dict
    classifier: StanceClassifier


def set_seed(seed: int) -> None:
    """Seed every random number generator the loop uses, so CPU runs repeat exactly."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def check_label_counts(split: Split, minimum: int) -> None:
    """Refuse to train when a label is too rare in train, or absent from dev.

    Raises:
        DataError: naming the label, its count and the config key that sets the minimum.
    """
    counts = Counter(s.label for s in split.train)
    too_few = [
        f"{label!r} has {counts.get(label, 0)}"
        for label in LABELS
        if counts.get(label, 0) < minimum
    ]
    if too_few:
        raise DataError(
            f"too few training examples: {'; '.join(too_few)} "
            f"(need at least {minimum} per label, train.min_examples_per_label); "
            "add annotations or lower the minimum"
        )
    missing_dev = [label for label in LABELS if label not in {s.label for s in split.dev}]
    if missing_dev:
        raise DataError(
            f"dev split has no examples of {', '.join(missing_dev)}; "
            "early stopping needs every label in dev (add annotations or "
            "raise data.dev_fraction)"
        )


def class_weights(counts: Counter) -> list[float]:
    """Balanced weights n / (k * count): rare labels count as much as common ones in the loss."""
    total = sum(counts.values())
    return [total / (len(LABELS) * counts[label]) for label in LABELS]


def epoch_order(gold: list[str], none_per_stance: float | None, generator) -> list[int]:
    """Shuffled training indices for one epoch.

    With `none_per_stance`, every stance example is used and a fresh random sample of `none`
    examples (that many per stance example) is drawn each epoch: the large pool of ordinary
    news is seen over the epochs without every epoch paying for all of it.
    """
    import torch

    if none_per_stance is None:
        return torch.randperm(len(gold), generator=generator).tolist()
    stance = [i for i, label in enumerate(gold) if label != "none"]
    none = [i for i, label in enumerate(gold) if label == "none"]
    take = min(len(none), round(none_per_stance * len(stance)))
    picked = [none[i] for i in torch.randperm(len(none), generator=generator)[:take].tolist()]
    chosen = stance + picked
    return [chosen[i] for i in torch.randperm(len(chosen), generator=generator).tolist()]


def length_grouped_batches(
    order: list[int], lengths: list[int], batch_size: int, generator, pool_batches: int = 32
) -> list[list[int]]:
    """Cut a shuffled order into batches of similar length, in random batch order.

    Each pool of `pool_batches` batches is sorted by length before cutting, so a batch of
    headlines is not padded to the length of a 60-word sentence; pools keep the randomness.
    """
    import torch

    batches = []
    pool_size = batch_size * pool_batches
    for begin in range(0, len(order), pool_size):
        pool = sorted(order[begin : begin + pool_size], key=lambda i: lengths[i])
        batches.extend(pool[i : i + batch_size] for i in range(0, len(pool), batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


@dataclass(frozen=True)
class SoftTargets:
    """Passages labelled by a teacher model's probabilities, for distillation
    (`pipeline.distillation`).

    The student trains on these beside the labelled split: each batch holds either labelled
    statements (the usual cross-entropy against the gold label) or these passages (the
    divergence from the teacher's distribution, `soft_target_loss`, times `weight`). `record`
    is what the model folder's `meta.json: distillation` keeps about where they came from.
    """

    texts: list[str]
    contexts: list[str] | None  # each text's context, for a student that reads one
    probabilities: np.ndarray  # shape (len(texts), len(LABELS)), columns in LABELS order
    temperature: float = 2.0
    weight: float = 1.0
    record: dict = field(default_factory=dict)


def soft_target_loss(logits, teacher_probabilities, temperature: float):
    """KL divergence from the teacher's distribution to the student's, both softened by
    `temperature`, times temperature squared so the gradients keep their scale as it grows
    (Hinton et al., 2015).

    The teacher is cached as probabilities, not logits: log p is its logits (over its calibrated
    temperature) up to a constant per row, which softmax ignores, so softmax(log p / T) is the
    teacher softened at T.
    """
    import torch
    import torch.nn.functional as F

    target = F.softmax(torch.log(teacher_probabilities.clamp_min(1e-12)) / temperature, dim=-1)
    student = F.log_softmax(logits / temperature, dim=-1)
    return F.kl_div(student, target, reduction="batchmean") * temperature**2


def with_soft_batches(
    batches: list[list[int]],
    soft_indices: range,
    lengths: list[int],
    batch_size: int,
    generator,
) -> list[list[int]]:
    """One epoch's labelled batches and one pass over every soft-target passage, in random
    order. A batch holds one kind only, so each keeps its own loss; soft passages are cut into
    length-grouped batches as labelled ones are."""
    import torch

    shuffled = torch.randperm(len(soft_indices), generator=generator).tolist()
    order = [soft_indices[i] for i in shuffled]
    mixed = batches + length_grouped_batches(order, lengths, batch_size, generator)
    return [mixed[i] for i in torch.randperm(len(mixed), generator=generator).tolist()]


def freeze_lower_layers(model, layers: int) -> int:
    """Freeze the embeddings and the lowest `layers` transformer layers; return how many
    parameters stay trainable. Their gradients are never computed, which is where the time goes
    on CPU; the upper layers and the head still adapt to the task."""
    if layers <= 0:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    encoder = model.base_model
    stack = getattr(getattr(encoder, "encoder", None), "layer", None)
    if stack is None or not hasattr(encoder, "embeddings"):
        raise DataError(
            f"train.frozen_layers: {type(model).__name__} has no embeddings/encoder.layer to freeze"
        )
    if layers > len(stack):
        raise DataError(f"train.frozen_layers: {layers} exceeds the model's {len(stack)} layers")
    for module in (encoder.embeddings, *stack[:layers]):
        for parameter in module.parameters():
            parameter.requires_grad = False
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def epoch_label_counts(gold: list[str], none_per_stance: float | None) -> Counter:
    """Label counts of one epoch as `epoch_order` draws it."""
    counts = Counter(gold)
    if none_per_stance is not None:
        stance = sum(c for label, c in counts.items() if label != "none")
        counts["none"] = min(counts["none"], round(none_per_stance * stance))
    return counts


def use_bf16(precision: str, device) -> bool:
    """bf16 autocast: on GPUs with bf16, and on CPUs whose PyTorch build runs bf16 natively
    (AVX512-BF16 or AMX); `auto` picks it where it is supported."""
    import torch

    if precision == "fp32":
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    supported = (
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )
    if precision == "bf16" and not supported:
        raise DataError("train.precision: bf16 is not supported on this CPU; use fp32 or auto")
    return supported


def _gold_index(statements: list[Statement]) -> np.ndarray:
    return np.asarray([LABELS.index(s.label) for s in statements])


def _evaluate(
    classifier: StanceClassifier, statements: list[Statement], probabilities: np.ndarray
) -> dict:
    """Macro-F1 and friends for gold statements, by the classifier's decision rule."""
    predicted = classifier.predict_labels_from(probabilities)
    metrics = classification_metrics([s.label for s in statements], predicted, LABELS)
    metrics["ece"] = expected_calibration_error(probabilities, _gold_index(statements))
    return metrics


def _mean_log_loss(probabilities: np.ndarray, gold: np.ndarray) -> float:
    return float(-np.log(probabilities[np.arange(len(gold)), gold] + 1e-12).mean())


def actor_dictionary_to_copy(config: Config) -> Path | None:
    """The actor dictionary to copy into the model folder: `predict.actors`, else
    configs/actors.yaml when it exists (None, with a warning, when it does not).

    Raises:
        ConfigError: the dictionary cannot be read or is malformed.
    """
    source = Path(config.predict.actors or DEFAULT_ACTORS)
    if not config.predict.actors and not source.is_file():
        log.warning(
            "%s not found: the model folder will carry no actor dictionary, so predict will "
            "need --actors",
            source,
        )
        return None
    ActorDictionary.from_yaml(source)
    return source


def check_party_training(config: Config, actors_source: Path | None) -> None:
    """What the party extractor (`parties.enabled`) needs, checked before the stance model
    trains rather than after it: its base model on disk and an actor dictionary to find spans
    with (annotations already require a holder on every stance statement).

    Raises:
        ConfigError: `parties.base_model` is not available offline, or no dictionary is found.
    """
    if not config.parties.enabled:
        return
    try:
        resolve_base_model(config.parties.base_model)
    except PipelineError as error:
        raise ConfigError(f"parties.base_model: {error}") from None
    if actors_source is None:
        raise ConfigError(
            f"parties.enabled: the party extractor finds holder spans with the actor dictionary, "
            f"and {DEFAULT_ACTORS} is not found; set predict.actors to a dictionary file"
        )


def _train_parties(config: Config, split: Split, actors_source, staging: Path, progress: bool):
    """The party extractor of a run (`parties.enabled`), trained into the model folder being
    written, with the dictionary the folder carries."""
    from pipeline.parties import PARTIES_DIR
    from pipeline.party_model import train_for_run

    actors = ActorDictionary.from_yaml(actors_source or DEFAULT_ACTORS)
    log = print if progress else (lambda *_: None)
    log("training the party extractor (holders and targets)")
    return train_for_run(config, split, actors, staging / PARTIES_DIR, log=log)


def train(
    config: Config,
    output_dir: str | Path | None = None,
    progress: bool = True,
    split: Split | None = None,
    soft_targets: SoftTargets | None = None,
) -> TrainResult:
    """Fine-tune `config.model.base_model` on the annotations and write `model-best/`.

    Args:
        config: a validated run config.
        output_dir: the run folder; default `models/<run_name>`.
        progress: show a progress bar with loss and dev macro-F1.
        split: use this split instead of splitting `config.data.paths` (cross-validation).
        soft_targets: teacher-labelled passages to train on as well (distillation); their
            provenance is recorded in `meta.json: distillation`.

    Returns:
        TrainResult with the model folder, dev/test metrics and the meta record.

    Raises:
        DataError: invalid annotations, or too few examples of a label.
        PipelineError: the base model cannot be found locally.
        ConfigError: the actor dictionary (`predict.actors`) cannot be read; with
            `parties.enabled`, `parties.base_model` is not available (`check_party_training`).
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )
    from transformers import logging as hf_logging

    started = time.time()
    run_dir = Path(output_dir) if output_dir else Path("models") / config.run_name
    cfg_train, cfg_model = config.train, config.model

    # 1. Data: validated statements, a grouped split, and a refusal when a label is too rare.
    # The actor dictionary the model folder will carry is checked now, not after training.
    actors_source = actor_dictionary_to_copy(config)
    if split is None:
        _, split = split_for_config(config)
    check_label_counts(split, cfg_train.min_examples_per_label)
    check_party_training(config, actors_source)
    log.info("split sizes %s", split.sizes())

    # 2. Model: the base encoder with a fresh 4-way head; weights from safetensors only.
    set_seed(config.seed)
    base = resolve_base_model(cfg_model.base_model)
    device = pick_device(cfg_train.device)
    hf_logging.set_verbosity_error()  # the "newly initialized head" notice is expected here
    hf_logging.disable_progress_bar()
    with offline_hub():
        tokenizer = AutoTokenizer.from_pretrained(base.path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            base.path,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
            use_safetensors=True,
            local_files_only=True,
        ).to(device)

    classifier = StanceClassifier(
        TorchLogits(model, device),
        tokenizer,
        LABELS,
        cfg_model.max_length,
        cfg_model.window_stride,
        max_batch_size=cfg_train.eval_batch_size,
        context=cfg_model.context,
    )
    contexts = {
        name: statement_contexts(part, cfg_model.context)
        for name, part in (("train", split.train), ("dev", split.dev), ("test", split.test))
    }

    # 3. Tensors: tokenise once; pad per batch (dynamic padding) inside the loop.
    train_encoded = classifier.encode(
        [s.text for s in split.train], contexts["train"], max_length=cfg_model.max_length
    )
    train_gold = torch.tensor(_gold_index(split.train))
    train_lengths = [len(ids) for ids in train_encoded["input_ids"]]
    train_labels = [s.label for s in split.train]
    generator = torch.Generator().manual_seed(config.seed)
    per_epoch = epoch_label_counts(train_labels, cfg_train.none_per_stance)
    examples_per_epoch = sum(per_epoch.values())
    batches_per_epoch = -(-examples_per_epoch // cfg_train.batch_size)
    # Distillation: teacher-labelled passages follow the labelled ones in one index space
    # (`soft_indices`), every one of them in every epoch, in batches of their own.
    encoded, lengths = train_encoded, train_lengths
    if soft_targets is not None:
        if soft_targets.probabilities.shape != (len(soft_targets.texts), len(LABELS)):
            raise DataError(
                f"soft targets: {soft_targets.probabilities.shape} probabilities for "
                f"{len(soft_targets.texts)} passages; expected one row of {len(LABELS)} "
                f"({', '.join(LABELS)}) per passage"
            )
        soft_encoded = classifier.encode(
            soft_targets.texts, soft_targets.contexts, max_length=cfg_model.max_length
        )
        encoded = {k: list(train_encoded[k]) + list(soft_encoded[k]) for k in train_encoded}
        lengths = train_lengths + [len(ids) for ids in soft_encoded["input_ids"]]
        soft_indices = range(len(split.train), len(lengths))
        soft_probabilities = torch.tensor(soft_targets.probabilities, dtype=torch.float32)
        examples_per_epoch += len(soft_indices)
        batches_per_epoch += -(-len(soft_indices) // cfg_train.batch_size)
    total_steps = batches_per_epoch * cfg_train.epochs

    weights = class_weights(per_epoch) if cfg_train.class_weighting == "balanced" else None
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(weights, dtype=torch.float32, device=device) if weights else None
    )
    no_decay = ("bias", "LayerNorm.weight")
    parameter_groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": cfg_train.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    trainable = freeze_lower_layers(model, cfg_train.frozen_layers)
    log.info("trainable parameters: %s", trainable)
    parameter_groups = [
        {**group, "params": [p for p in group["params"] if p.requires_grad]}
        for group in parameter_groups
    ]
    optimizer = torch.optim.AdamW(parameter_groups, lr=cfg_train.learning_rate)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg_train.warmup_ratio * total_steps), total_steps
    )
    # bf16 autocast where the hardware runs it natively (measured in the README).
    use_autocast = use_bf16(cfg_train.precision, device)

    log_rows: list[dict] = []
    best_f1, best_epoch, best_state, stale = -1.0, 0, None, 0
    # The bar shows on terminals only; the per-epoch line below also reaches CI logs.
    bar = tqdm(total=total_steps, desc="train", unit="batch", disable=None if progress else True)

    # 4. The loop: one pass over shuffled batches per epoch, then dev macro-F1 decides.
    for epoch in range(1, cfg_train.epochs + 1):
        model.train()
        epoch_start, running_loss = time.time(), 0.0
        order = epoch_order(train_labels, cfg_train.none_per_stance, generator)
        batches = length_grouped_batches(order, train_lengths, cfg_train.batch_size, generator)
        if soft_targets is not None:
            batches = with_soft_batches(
                batches, soft_indices, lengths, cfg_train.batch_size, generator
            )
        for step, index in enumerate(batches):
            features = tokenizer.pad(
                {k: [encoded[k][i] for i in index] for k in encoded},
                return_tensors="pt",
            )
            features = {k: v.to(device) for k, v in features.items()}
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_autocast):
                logits = model(**features).logits
            if index[0] < len(split.train):  # a batch of labelled statements
                loss = loss_fn(logits.float(), train_gold[index].to(device))
            else:  # a batch of teacher-labelled passages
                teacher = soft_probabilities[[i - len(split.train) for i in index]].to(device)
                loss = soft_targets.weight * soft_target_loss(
                    logits.float(), teacher, soft_targets.temperature
                )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg_train.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            running_loss += loss.item()
            bar.update(1)
            bar.set_postfix(
                epoch=epoch,
                loss=f"{running_loss / (step + 1):.3f}",
                dev_f1=f"{max(best_f1, 0):.3f}",
            )

        model.eval()
        # One probability row per statement (long ones averaged over windows); T is still 1.
        dev_probs = classifier.predict_proba([s.text for s in split.dev], contexts["dev"])
        dev_pred = [LABELS[i] for i in dev_probs.argmax(axis=1)]
        dev_f1 = classification_metrics([s.label for s in split.dev], dev_pred, LABELS)["macro_f1"]
        seconds = time.time() - epoch_start
        row = {
            "epoch": epoch,
            "train_loss": running_loss / batches_per_epoch,
            "dev_loss": _mean_log_loss(dev_probs, _gold_index(split.dev)),
            "dev_macro_f1": dev_f1,
            "learning_rate": scheduler.get_last_lr()[0],
            "seconds": round(seconds, 2),
            "examples_per_second": round(examples_per_epoch / seconds, 1),
        }
        log_rows.append(row)
        log.info("epoch %s: %s", epoch, row)
        if dev_f1 > best_f1:
            best_f1, best_epoch, stale = dev_f1, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= cfg_train.early_stopping_patience:
                log.info("early stop after epoch %s (best %s)", epoch, best_epoch)
                break
        bar.set_postfix(epoch=epoch, loss=f"{row['train_loss']:.3f}", dev_f1=f"{best_f1:.3f}")
        if progress:
            tqdm.write(
                f"epoch {epoch}: train loss {row['train_loss']:.3f}, dev loss "
                f"{row['dev_loss']:.3f}, dev macro-F1 {dev_f1:.3f}, {seconds:.0f} s"
            )
    bar.close()

    # 5. Restore the best epoch, calibrate on dev, then score dev and test once.
    model.load_state_dict(best_state)
    model.eval()
    # Each part is run through the model once; calibration only rescales the saved logits.
    window_logits = {
        name: classifier.window_logits([s.text for s in part], contexts[name])
        for name, part in (("dev", split.dev), ("test", split.test))
    }
    dev_logits, dev_owners = window_logits["dev"]
    temperature = fit_temperature(dev_logits, _gold_index(split.dev)[dev_owners])
    probabilities, uncalibrated = {}, {}
    for name, part in (("dev", split.dev), ("test", split.test)):
        logits, owners = window_logits[name]
        raw = classifier.proba_from_logits(logits, owners, len(part), temperature=1.0)
        uncalibrated[name] = expected_calibration_error(raw, _gold_index(part))
        probabilities[name] = classifier.proba_from_logits(logits, owners, len(part), temperature)
    classifier.temperature = temperature
    # The decision rule: a stance threshold chosen on calibrated dev probabilities.
    if config.decision.rule == "threshold":
        classifier.decision = choose_threshold(
            probabilities["dev"],
            [s.label for s in split.dev],
            LABELS,
            config.decision.target_precision,
            config.decision.none_rate,
            config.decision.min_threshold,
        )
    log.info("decision rule: %s", classifier.decision.description())
    metrics = {}
    for name, part in (("dev", split.dev), ("test", split.test)):
        metrics[name] = _evaluate(classifier, part, probabilities[name])
        metrics[name]["ece_before_calibration"] = uncalibrated[name]

    # 6. Write the self-describing model folder atomically (temp folder, then rename).
    meta = {
        "labels": list(LABELS),
        "max_length": cfg_model.max_length,
        "window_stride": cfg_model.window_stride,
        "context": cfg_model.context,
        "base_model": {"name": base.name, "weights_sha256": base.weights_sha256},
        "data": {
            "files": hash_files(config.data.paths),
            "split_method": config.data.split,
            "split_sizes": split.sizes(),
            "label_counts": {
                name: dict(Counter(s.label for s in part))
                for name, part in (("train", split.train), ("dev", split.dev), ("test", split.test))
            },
        },
        "seed": config.seed,
        "created": utc_now(),
        "versions": package_versions(),
        "training": {
            "epochs_run": len(log_rows),
            "best_epoch": best_epoch,
            "seconds": round(time.time() - started, 1),
            "device": str(device),
            "bf16_autocast": use_autocast,
            "frozen_layers": cfg_train.frozen_layers,
            "trainable_parameters": trainable,
            "examples_per_epoch": examples_per_epoch,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
        "calibration": {"method": "temperature scaling on dev", "temperature": temperature},
        "decision": classifier.decision.as_dict(),
        "metrics": {
            name: {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"]}
            for name, m in metrics.items()
        },
        "config": config_to_dict(config),
    }
    if soft_targets is not None:
        meta["distillation"] = {
            **soft_targets.record,
            "soft_passages": len(soft_targets.texts),
            "temperature": soft_targets.temperature,
            "weight": soft_targets.weight,
        }
    model_dir = run_dir / "model-best"
    # The folder appears under its name only when complete (`outputs.atomic_folder`).
    with atomic_folder(model_dir) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        # Loading checks the weights against this hash (and the ONNX cache against the weights).
        meta["weights_sha256"] = sha256_file(staging / "model.safetensors")
        if actors_source is not None:
            shutil.copyfile(actors_source, staging / MODEL_ACTORS_FILE)
            meta["actors"] = {
                "file": MODEL_ACTORS_FILE,
                "source": str(actors_source),
                "sha256": sha256_file(staging / MODEL_ACTORS_FILE),
            }
            # The saved config points at the folder's own copy (predict.actors: null), so the
            # model works from any working folder.
            config = config.model_copy(
                update={"predict": config.predict.model_copy(update={"actors": None})}
            )
        if config.parties.enabled:
            meta["parties"] = _train_parties(config, split, actors_source, staging, progress)
        dump_config(config, staging / "config.yaml")
        (staging / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        (staging / "training_log.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in log_rows), encoding="utf-8"
        )
        write_model_card(staging / "README.md", meta, metrics)
    return TrainResult(
        model_dir=model_dir, metrics=metrics, meta=copy.deepcopy(meta), classifier=classifier
    )
