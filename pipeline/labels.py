"""The label set: a stance toward talks, negotiations or dialogue, held by an actor.

The order of LABELS is the column order of every probability array the package returns.
"""

from __future__ import annotations

from typing import Literal

Label = Literal["accept", "reject", "conditional", "none"]

LABELS: tuple[str, ...] = ("accept", "reject", "conditional", "none")

LABEL_DEFINITIONS: dict[str, str] = {
    "accept": (
        "The holder is willing or ready to talk, offers, welcomes, agrees to or urges talks, "
        "or takes part in them by choice, with no precondition stated."
    ),
    "reject": (
        "The holder refuses, rules out, boycotts, dismisses or denounces talks, "
        "with no way out stated."
    ),
    "conditional": (
        "The holder's willingness or refusal is tied to a condition that would change it "
        "(withdrawal of forces, ceasefire, prisoner release, recognition; only if / unless / "
        "until / as long as / provided that), or talks only with some parties or in some format."
    ),
    "none": (
        "No stance toward talks: background, violence, aid, logistics, other topics, "
        "or talks mentioned only as context."
    ),
}

STANCE_LABELS: tuple[str, ...] = tuple(label for label in LABELS if label != "none")
