"""Training spans for the party extractor, derived from the annotations.

An annotation names its holder and target as canonical actors ("Taliban", "United States"), not
as spans. The words that name them are found with the actor dictionary: every mention of the
gold holder in the passage is a holder span; when the passage names it only by a pronoun or a
title ("he said", "the group"), its nearest mention in the context (the preceding sentences of
the same document) is. Targets the same way. A statement whose holder is named nowhere in its
text or context gives no holder span: the extractor learns that nothing there names it.

The context of a statement is the statements before it in its document: by offset in a seed
article, by id in an authored story (written in article order), as `pipeline.context` orders
them for the stance model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.actors import ActorDictionary

# The segment a span lies in: the context before the passage, or the passage itself.
CONTEXT, PASSAGE = 0, 1
# Words of context kept before a passage (nearest last): a news sentence or two.
CONTEXT_WORDS = 40


@dataclass(frozen=True)
class Span:
    segment: int  # CONTEXT or PASSAGE
    start: int
    end: int


@dataclass(frozen=True)
class PartyExample:
    """A passage, its context, and where the holder and the target are named."""

    context: str
    text: str
    holder_spans: tuple[Span, ...] = field(default=())
    target_spans: tuple[Span, ...] = field(default=())


def join_context(sentences: Sequence[str], words: int = CONTEXT_WORDS) -> str:
    """The preceding sentences as one context string, cut to its last `words` words."""
    parts = " ".join(s.strip() for s in sentences if s.strip()).split(" ")
    return " ".join(parts[-words:]) if len(parts) > words else " ".join(parts)


def party_spans(actor: str, context: str, text: str, actors: ActorDictionary) -> tuple[Span, ...]:
    """Where `actor` is named: every mention in the passage, else its last mention in the
    context, else nothing."""
    if not actor:
        return ()
    in_text = [m for m in actors.mentions(text) if m.actor == actor]
    if in_text:
        return tuple(Span(PASSAGE, m.start, m.end) for m in in_text)
    in_context = [m for m in actors.mentions(context) if m.actor == actor]
    if in_context:
        last = in_context[-1]
        return (Span(CONTEXT, last.start, last.end),)
    return ()


def statement_examples(
    statements: Sequence, actors: ActorDictionary, context_sentences: int = 2
) -> list[PartyExample]:
    """One example per stance statement with a holder, in the order given."""
    by_doc: dict[str, list] = defaultdict(list)
    for statement in statements:
        by_doc[statement.doc_id].append(statement)
    contexts: dict[str, str] = {}
    for items in by_doc.values():
        items.sort(key=lambda s: (s.char_start if s.char_start is not None else -1, s.id))
        for position, statement in enumerate(items):
            before = items[max(0, position - context_sentences) : position]
            contexts[statement.id] = join_context([s.text for s in before])
    examples = []
    for statement in statements:
        if statement.label == "none" or not statement.holder:
            continue
        context = contexts[statement.id]
        examples.append(
            PartyExample(
                context=context,
                text=statement.text,
                holder_spans=party_spans(statement.holder, context, statement.text, actors),
                target_spans=party_spans(statement.target, context, statement.text, actors),
            )
        )
    return examples
