"""Documents -> scored passages: segmentation, holder and target attribution (`pipeline.parties`),
batched scoring.

This is the one place that turns articles into passage records, used by both `stance predict`
engines and `StanceClassifier.score_articles`, so all give the same rows. The row itself is
defined in `pipeline.prediction.rows`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.actors import ActorDictionary, document_parties
from pipeline.articles import Document
from pipeline.context import passage_contexts
from pipeline.decision import decide_labels
from pipeline.errors import PipelineError
from pipeline.labels import LABELS
from pipeline.parties import attribute_parties
from pipeline.prediction.rows import Passage, passage_records
from pipeline.segmentation import Span, passages, split_sentences


@dataclass(frozen=True)
class SegmentOptions:
    """How documents become passages."""

    unit: str = "sentence"
    window: int = 1
    stride: int | None = None
    holder_context_sentences: int = 3

    @classmethod
    def from_config(cls, predict, unit: str | None = None) -> SegmentOptions:
        """The segmentation a `predict` config section asks for (`unit` overrides it)."""
        return cls(
            unit=unit or predict.unit,
            window=predict.window,
            stride=predict.stride,
            holder_context_sentences=predict.holder_context_sentences,
        )


def document_passages(
    document: Document, options: SegmentOptions, actors: ActorDictionary
) -> list[Passage]:
    """Cut one document into passages and attribute a holder and a target to each."""
    text = document.text
    if options.unit == "record":
        spans = [Span(0, len(text))]
        sentences = spans
    else:
        sentences = split_sentences(text)
        spans = (
            sentences
            if options.window == 1 and not options.stride
            else list(passages(text, options.window, options.stride))
        )
    sentence_starts = [s.start for s in sentences]
    first_sentence = text[sentences[0].start : sentences[0].end] if sentences else ""
    headline_text = document.title or first_sentence
    # The headline names the main parties too; counted once when it opens the text as well.
    counted = (
        text
        if not document.title or text.startswith(document.title)
        else f"{document.title}\n{text}"
    )
    named = document_parties(counted, actors)
    result = []
    for index, span in enumerate(spans):
        passage_text = text[span.start : span.end]
        # bisect on the list: np.searchsorted would copy it into an array for every passage,
        # quadratic in the sentences of one long article.
        first = bisect.bisect_left(sentence_starts, span.start)
        context_from = max(0, first - options.holder_context_sentences)
        context = [text[s.start : s.end] for s in sentences[context_from:first]]
        parties = attribute_parties(passage_text, context, actors, document=named)
        result.append(
            Passage(
                doc_id=document.doc_id,
                index=index,
                start=span.start,
                end=span.end,
                text=passage_text,
                holder=parties.holder,
                date=document.date,
                previous=(
                    text[sentences[first - 1].start : sentences[first - 1].end] if first else ""
                ),
                headline=headline_text,
                target=parties.target,
                context=tuple(context),
                holder_text=parties.holder_text,
                document_parties=named,
            )
        )
    return result


def score_passages(
    classifier, batch: Sequence[Passage], actors: ActorDictionary | None = None
) -> list[dict]:
    """Score passages with any model exposing `predict_proba`; labels follow the model's own
    label order (`classifier.labels`, else LABELS) and its decision rule.

    When the model folder carries a party extractor (`classifier.parties`, see
    `pipeline.parties`) and `actors` is given, stance rows get its holder and target; otherwise
    they keep the dictionary rules' attribution made at segmentation.
    """
    if not batch:
        return []
    labels = list(getattr(classifier, "labels", LABELS))
    if sorted(labels) != sorted(LABELS):
        raise PipelineError(
            f"the model's labels {labels} are not this product's label set {list(LABELS)}"
        )
    mode = getattr(classifier, "context", "none")
    if mode == "none":
        probabilities = classifier.predict_proba([p.text for p in batch])
    else:
        contexts = passage_contexts(batch, mode)
        probabilities = classifier.predict_proba([p.text for p in batch], contexts)
    decided = decide_labels(classifier, probabilities, labels)
    # Output columns are always in LABELS order, whatever order the model keeps them in.
    reorder = np.asarray([labels.index(label) for label in LABELS])
    rows = passage_records(batch, probabilities[:, reorder], np.argsort(reorder)[decided])
    parties = getattr(classifier, "parties", None)
    if parties is not None and actors is not None:
        parties.attribute(rows, batch, actors)
    return rows


def iter_scored_documents(
    classifier,
    documents: Iterable[Document],
    options: SegmentOptions,
    actors: ActorDictionary,
    passages_per_batch: int = 4096,
) -> Iterator[dict]:
    """Yield passage rows for every document, scoring in batches of many documents.

    Batching across documents keeps the model busy on short articles; rows come out in document
    order.
    """
    pending: list[Passage] = []
    for document in documents:
        pending.extend(document_passages(document, options, actors))
        if len(pending) >= passages_per_batch:
            yield from score_passages(classifier, pending, actors)
            pending = []
    yield from score_passages(classifier, pending, actors)
