"""Context as a second segment: the previous sentence or the headline, beside the passage.

A passage such as "He said they would not attend." takes its meaning from the sentence before it.
With `model.context: previous` (or `headline`) the model reads `[CLS] context [SEP] passage [SEP]`
in training, evaluation and scoring alike; the context is cut to its last CONTEXT_WORDS words so
the passage keeps most of the window, and a long passage is still scored over overlapping
windows with the context repeated in each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

CONTEXT_MODES = ("none", "previous", "headline")
CONTEXT_WORDS = 40


def trim_context(text: str, words: int = CONTEXT_WORDS) -> str:
    """The last `words` words of a context (the part nearest the passage)."""
    parts = text.split()
    return " ".join(parts[-words:])


def statement_contexts(statements: Sequence, mode: str) -> list[str]:
    """The context of each annotation statement, from the statements of the same `doc_id`.

    Statements of a document are ordered by their offsets in the source (seed articles) or by
    id (authored stories, written in article order). `previous`: the statement before; `headline`:
    the document's first statement. The first statement of a document has no context.
    """
    if mode == "none":
        return [""] * len(statements)
    by_doc: dict[str, list[int]] = defaultdict(list)
    for index, statement in enumerate(statements):
        by_doc[statement.doc_id].append(index)
    contexts = [""] * len(statements)
    for indices in by_doc.values():
        ordered = sorted(
            indices,
            key=lambda i: (
                statements[i].char_start if statements[i].char_start is not None else -1,
                statements[i].id,
            ),
        )
        for position, index in enumerate(ordered):
            if position == 0:
                continue
            source = ordered[position - 1] if mode == "previous" else ordered[0]
            contexts[index] = trim_context(statements[source].text)
    return contexts


def passage_contexts(passages: Sequence, mode: str) -> list[str]:
    """The context of each segmented passage (anything with `text`, `previous` and `headline`,
    e.g. `prediction.rows.Passage`) for a model reading `mode`: the sentence before it, or its
    document's headline; the headline passage itself has none, as in training."""
    if mode == "previous":
        return [p.previous for p in passages]
    if mode == "headline":
        return [p.headline if p.headline != p.text else "" for p in passages]
    return [""] * len(passages)
