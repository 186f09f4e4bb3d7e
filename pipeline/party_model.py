"""The party extractor: a token-classification head that marks who holds a stance and toward whom.

It reads `[CLS] context [SEP] passage [SEP]` (the context is the preceding sentences, for "he
said", "the group", "the North") and tags each token O, B-/I-HOLDER or B-/I-TARGET, trained on
spans derived from the annotations (`pipeline.party_spans`). At scoring time the best-scored
holder span and target span, in the passage or in its context, are returned with their scores;
`pipeline.parties` turns them into canonical actors and falls back to the dictionary rules when
the extractor is unsure.

A small encoder (all-MiniLM-L6-v2) is enough: the span is mostly a matter of syntax (a quote's
speaker, the subject of "ruled out", the object of "talks with"), and it runs only on passages
the stance model calls a stance.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import ModelFolderError
from pipeline.offline import offline_hub
from pipeline.party_spans import PASSAGE, PartyExample, Span

TAGS = ("O", "B-HOLDER", "I-HOLDER", "B-TARGET", "I-TARGET")
IGNORED = -100  # the loss skips special and padding tokens
META_FILE = "party_meta.json"
# How to repair a model folder's extractor, in every message about a damaged one.
REPAIR_PARTIES = (
    "retrain the model with `parties.enabled: true` (`stance train` writes its parties/ "
    "folder), or delete parties/ to attribute holders with the dictionary rules alone"
)


def read_party_meta(folder: Path) -> dict:
    """`party_meta.json` of an extractor folder, checked for the fields loading and
    attribution read (`tags`, `max_length`, `min_score`).

    Raises:
        ModelFolderError: unreadable, not a JSON object, or a field missing or invalid.
    """
    path = folder / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{path}: not valid JSON ({exc}); {REPAIR_PARTIES}") from None
    if not isinstance(meta, dict):
        raise ModelFolderError(f"{path}: expected a JSON object; {REPAIR_PARTIES}")
    if list(meta.get("tags") or []) != list(TAGS):
        raise ModelFolderError(
            f"{path}: tags: {meta.get('tags')} are not {list(TAGS)}; {REPAIR_PARTIES}"
        )
    max_length = meta.get("max_length")
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ModelFolderError(
            f"{path}: max_length: {max_length!r} is not a positive whole number; {REPAIR_PARTIES}"
        )
    min_score = meta.get("min_score", 0.5)
    if (
        isinstance(min_score, bool)
        or not isinstance(min_score, int | float)
        or not (0 <= min_score <= 1)
    ):
        raise ModelFolderError(
            f"{path}: min_score: {min_score!r} is not a number from 0 to 1; {REPAIR_PARTIES}"
        )
    return meta


def _damaged(folder: Path, files: str, exc: Exception) -> ModelFolderError:
    """The error for an extractor file transformers could not read, naming it."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelFolderError(f"{folder}: cannot read its {files} ({reason}); {REPAIR_PARTIES}")


@dataclass(frozen=True)
class FoundSpan:
    """A span the extractor marks, with the probability of its first token's B- tag."""

    segment: int  # CONTEXT or PASSAGE
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    segments: list[int | None]  # per token: CONTEXT, PASSAGE or None (special)
    offsets: list[tuple[int, int]]
    labels: list[int]


def encode(tokenizer, example: PartyExample, max_length: int) -> Encoded:
    """Tokens of `context [SEP] text` with their tag ids (from the example's spans)."""
    if example.context:
        enc = tokenizer(
            example.context,
            example.text,
            truncation="only_second",
            max_length=max_length,
            return_offsets_mapping=True,
        )
    else:
        enc = tokenizer(
            example.text, truncation=True, max_length=max_length, return_offsets_mapping=True
        )
    sequence_ids = enc.sequence_ids()
    # Without a context the passage is the only (first) sequence.
    segments = [None if s is None else (s if example.context else PASSAGE) for s in sequence_ids]
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    labels = [IGNORED if s is None else 0 for s in segments]
    for spans, begin in ((example.holder_spans, 1), (example.target_spans, 3)):
        for span in spans:
            first = True
            for i, (segment, (start, end)) in enumerate(zip(segments, offsets, strict=True)):
                if segment != span.segment or end <= span.start or start >= span.end:
                    continue
                labels[i] = begin if first else begin + 1
                first = False
    return Encoded(list(enc["input_ids"]), segments, offsets, labels)


def _pad(batch: Sequence[Encoded], pad_id: int):
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORED, dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        mask[row, :n] = 1
        labels[row, :n] = torch.tensor(e.labels)
    return ids, mask, labels


def best_span(encoded: Encoded, probabilities: np.ndarray, begin: int) -> FoundSpan | None:
    """The span starting at the token most likely to begin one (tag `begin`), extended over the
    following tokens more likely inside it than outside, and always to the end of a word (a
    name cut into word pieces is one span)."""
    candidates = [i for i, s in enumerate(encoded.segments) if s is not None]
    if not candidates:
        return None
    first = max(candidates, key=lambda i: probabilities[i, begin])
    segment = encoded.segments[first]
    last = first
    while last + 1 < len(encoded.segments) and encoded.segments[last + 1] == segment:
        following = last + 1
        same_word = encoded.offsets[following][0] == encoded.offsets[last][1]
        inside = probabilities[following, begin + 1] > probabilities[following, 0]
        if not (same_word or inside):
            break
        last = following
    return FoundSpan(
        segment,
        encoded.offsets[first][0],
        encoded.offsets[last][1],
        float(probabilities[first, begin]),
    )


class PartyExtractor:
    """A trained party extractor folder, loaded once."""

    def __init__(self, folder: Path, model, tokenizer, meta: dict):
        self.folder, self.model, self.tokenizer, self.meta = folder, model, tokenizer, meta
        self.max_length = int(meta["max_length"])

    @classmethod
    def load(cls, folder: str | Path) -> PartyExtractor:
        """Load a folder `train_party_extractor` wrote (safetensors only, no remote code).

        Raises:
            ModelFolderError: a file is missing, damaged or not what an extractor folder holds,
                named with how to repair the folder.
        """
        from safetensors import SafetensorError
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from pipeline.classifier import DAMAGED_PART_ERRORS, DAMAGED_TOKENIZER_ERRORS

        folder = Path(folder)
        missing = [
            name
            for name in ("config.json", "model.safetensors", "tokenizer.json", META_FILE)
            if not (folder / name).is_file()
        ]
        if missing:
            raise ModelFolderError(
                f"{folder}: not a party extractor folder, missing {', '.join(missing)}; "
                f"{REPAIR_PARTIES}"
            )
        meta = read_party_meta(folder)
        # The model first: the tokenizer reads config.json too, and would be blamed for it.
        try:
            with offline_hub():
                model = AutoModelForTokenClassification.from_pretrained(
                    folder, use_safetensors=True, trust_remote_code=False
                )
        except (*DAMAGED_PART_ERRORS, SafetensorError) as exc:
            raise _damaged(folder, "config.json or model.safetensors", exc) from None
        try:
            with offline_hub():
                tokenizer = AutoTokenizer.from_pretrained(folder)
        except DAMAGED_TOKENIZER_ERRORS as exc:
            raise _damaged(
                folder, "tokenizer files (tokenizer.json, tokenizer_config.json)", exc
            ) from None
        model.eval()
        return cls(folder, model, tokenizer, meta)

    def extract(
        self, items: Sequence[tuple[str, str]], batch_size: int = 32
    ) -> list[tuple[FoundSpan | None, FoundSpan | None]]:
        """(holder span, target span) for each (context, passage)."""
        import torch

        encoded = [encode(self.tokenizer, PartyExample(c, t), self.max_length) for c, t in items]
        order = np.argsort([len(e.input_ids) for e in encoded], kind="stable")
        found: list = [None] * len(items)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = [encoded[i] for i in indices]
            ids, mask, _ = _pad(batch, self.tokenizer.pad_token_id or 0)
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
            probabilities = torch.softmax(logits, dim=-1).numpy()
            for row, index in enumerate(indices):
                e = encoded[index]
                p = probabilities[row, : len(e.input_ids)]
                found[index] = (best_span(e, p, 1), best_span(e, p, 3))
        return found


def span_hits(found: FoundSpan | None, gold: Sequence[Span]) -> bool:
    """Whether a found span overlaps a gold span in the same segment (or both are absent)."""
    if not gold:
        return found is None or found.score < 0.5
    return found is not None and any(
        g.segment == found.segment and found.start < g.end and g.start < found.end for g in gold
    )


def train_party_extractor(
    train: Sequence[PartyExample],
    dev: Sequence[PartyExample],
    base_model: Path,
    out_dir: Path,
    *,
    epochs: int = 4,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    max_length: int = 160,
    frozen_layers: int = 0,
    seed: int = 13,
    provenance: dict | None = None,
    log=print,
) -> dict:
    """Fine-tune a token-classification head on the examples; keep the epoch whose dev span
    accuracy (holder and target spans found where the annotations name them) is best.

    Writes the model, tokenizer and `party_meta.json` (tags, max_length, dev figures, seed,
    `provenance`) into `out_dir` and returns the meta.
    """
    import torch
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    from pipeline.outputs import atomic_folder
    from pipeline.training import freeze_lower_layers, set_seed

    set_seed(seed)
    with offline_hub():
        tokenizer = AutoTokenizer.from_pretrained(base_model)
        model = AutoModelForTokenClassification.from_pretrained(
            base_model,
            num_labels=len(TAGS),
            id2label=dict(enumerate(TAGS)),
            label2id={t: i for i, t in enumerate(TAGS)},
            use_safetensors=True,
            trust_remote_code=False,
        )
    # Frozen embeddings and lower layers: no gradients there, about half the time on CPU.
    freeze_lower_layers(model, frozen_layers)
    train_encoded = [encode(tokenizer, e, max_length) for e in train]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)
    steps = epochs * ((len(train_encoded) + batch_size - 1) // batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    generator = np.random.default_rng(seed)
    pad_id = tokenizer.pad_token_id or 0
    best, history, best_state = -1.0, [], None
    for epoch in range(1, epochs + 1):
        model.train()
        began = time.perf_counter()
        # Batches of similar length, in random order: little padding, no order effects.
        order = np.argsort([len(e.input_ids) + generator.random() * 8 for e in train_encoded])
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        generator.shuffle(batches)
        total = 0.0
        for indices in batches:
            ids, mask, labels = _pad([train_encoded[i] for i in indices], pad_id)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss.detach())
        model.eval()
        extractor = PartyExtractor(out_dir, model, tokenizer, {"max_length": max_length})
        found = extractor.extract([(e.context, e.text) for e in dev])
        holder = float(
            np.mean([span_hits(h, e.holder_spans) for (h, _), e in zip(found, dev, strict=True)])
        )
        target = float(
            np.mean([span_hits(t, e.target_spans) for (_, t), e in zip(found, dev, strict=True)])
        )
        seconds = time.perf_counter() - began
        history.append(
            {
                "epoch": epoch,
                "loss": round(total / len(batches), 4),
                "dev_holder_span_accuracy": round(holder, 4),
                "dev_target_span_accuracy": round(target, 4),
                "seconds": round(seconds, 1),
            }
        )
        log(
            f"  party extractor epoch {epoch}: loss {total / len(batches):.4f}, dev holder span "
            f"{holder:.3f}, target span {target:.3f} ({seconds:.0f} s)"
        )
        if holder + target > best:
            best = holder + target
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    meta = {
        "tags": list(TAGS),
        "max_length": max_length,
        "frozen_layers": frozen_layers,
        "seed": seed,
        "epochs": history,
        "train_examples": len(train),
        "dev_examples": len(dev),
        **(provenance or {}),
    }
    with atomic_folder(out_dir) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta


def train_for_run(config, split, actors, out_dir: Path, log=print) -> dict:
    """Train the party extractor a run config asks for (`parties`) on its split's stance
    statements (train for fitting, dev for choosing the epoch) into `out_dir`; returns the
    record `meta.json` keeps (base model and hash, figures, folder hash)."""
    from pipeline.base_models import resolve_base_model
    from pipeline.party_spans import statement_examples
    from pipeline.provenance import hash_folder

    settings = config.parties
    base = resolve_base_model(settings.base_model)
    train = statement_examples(split.train, actors, settings.context_sentences)
    dev = statement_examples(split.dev, actors, settings.context_sentences)
    meta = train_party_extractor(
        train,
        dev,
        base.path,
        out_dir,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        max_length=settings.max_length,
        frozen_layers=settings.frozen_layers,
        seed=config.seed,
        provenance={
            "min_score": settings.min_score,
            "context_sentences": settings.context_sentences,
            "base_model": {"name": base.name, "weights_sha256": base.weights_sha256},
        },
        log=log,
    )
    return {
        "folder": out_dir.name,
        "sha256": hash_folder(out_dir),
        "base_model": settings.base_model,
        "epochs": meta["epochs"],
        "min_score": settings.min_score,
    }
