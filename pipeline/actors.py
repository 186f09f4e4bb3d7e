"""Who holds the stance: an actor dictionary and attribution from speech patterns.

Attribution, in order of evidence:
1. speech patterns in the passage: `"...," X said`, `X said/told/announced/...`, `said X`,
   `according to X`, `X's spokesman`, `by X` after a passive verb;
2. the grammatical subject: the first actor mentioned that is not governed by a preposition
   ("talks *with* the Taliban" names a target, not a holder);
3. the nearest actor mentioned in the preceding sentences of the same document (pronouns:
   "he said");
4. any actor the passage mentions (even after a preposition);
5. `unknown`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import read_yaml_file
from pipeline.errors import ConfigError

UNKNOWN = "unknown"
# The dictionary a config without `predict.actors` falls back to, relative to the working folder.
DEFAULT_ACTORS = "configs/actors.yaml"
# Training copies the dictionary into the model folder under this name: truth travels with it.
MODEL_ACTORS_FILE = "actors.yaml"
SPEECH_VERBS = (
    "said|says|say|told|tells|announced|announces|stated|states|declared|declares|insisted|"
    "insists|warned|warns|added|adds|urged|urges|wrote|writes|tweeted|posted|replied|responded|"
    "argued|argues|noted|notes|stressed|stresses|repeated|reiterated|confirmed|confirms|"
    "claimed|claims|explained|explains|maintained|maintains|signalled|signaled|signals|"
    "indicated|indicates|vowed|vows|pledged|pledges|asked|asks|appealed|appeals|"
    "called|calls|rejected|rejects|refused|refuses|offered|offers|welcomed|welcomes|"
    "dismissed|dismisses|denied|denies|ruled|rules|proposed|proposes|demanded|demands"
)
# Words that, right before a mention, make it the object of talks rather than their holder.
TARGET_PREPOSITIONS = {
    "with",
    "to",
    "against",
    "between",
    "from",
    "toward",
    "towards",
    "on",
    "at",
    "into",
    "over",
    "for",
    "about",
    "of",
    "and",
    "versus",
    "vs",
}
# "X said", "X's envoy told", "a Taliban official in Doha said": up to four words in between.
_SAID_AFTER = re.compile(
    rf"^(?:['’]s)?(?:\s+[\w'’-]+){{0,4}}?\s+(?:\w+ly\s+)?(?:{SPEECH_VERBS})\b", re.I
)
_SAID_BEFORE = re.compile(r"\b(?:said|says|according to|told by)\s+(?:the\s+)?$", re.I)
_POSSESSIVE_SPOKES = re.compile(
    r"^['’]s\s+(?:\w+\s+){0,2}(?:spokes\w+|envoy|negotiator|"
    r"minister|leader|president|delegation|statement|office|"
    r"representative|official)",
    re.I,
)


@dataclass(frozen=True)
class Mention:
    actor: str
    start: int
    end: int


class ActorDictionary:
    """Canonical actors and their aliases, compiled into one matcher.

    Acronyms and aliases with dots ("US", "U.S.", "AU", "PA") match case-sensitively so that the
    pronoun "us" or the word "pa" are not taken for actors; other aliases ignore case. Where
    aliases overlap, the longest wins ("Afghan government" over "Afghan").
    """

    def __init__(self, aliases: dict[str, list[str]]):
        self.aliases = {actor: list(names) for actor, names in aliases.items()}
        exact, folded = {}, {}
        for actor, names in self.aliases.items():
            for name in [actor, *names]:
                name = name.strip()
                if not name:
                    continue
                is_acronym = (name.isupper() and len(name.replace(".", "")) <= 5) or "." in name
                (exact if is_acronym else folded)[name if is_acronym else name.lower()] = actor
        self._exact, self._folded = exact, folded
        alternatives = sorted({*exact, *folded}, key=len, reverse=True)
        pattern = "|".join(re.escape(a) for a in alternatives)
        self._pattern = re.compile(rf"(?<![\w.])(?:{pattern})(?![\w])", re.IGNORECASE)

    @classmethod
    def from_yaml(cls, path: str | Path) -> ActorDictionary:
        """Load `canonical: [alias, ...]` from YAML.

        Raises:
            ConfigError: the file is missing or not a mapping of lists of strings.
        """
        path = Path(path)
        data = read_yaml_file(path, "actor dictionary")
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of actor -> list of aliases")
        for position, (actor, names) in enumerate(data.items()):
            if not isinstance(actor, str):
                raise ConfigError(
                    f"{path}:{_key_line(path, position)}: {actor!r}: an actor name must be "
                    f'text, not {type(actor).__name__}; quote it (e.g. "{actor}": [...])'
                )
            if not actor.strip():  # the holder would be "", which reads as "no holder"
                raise ConfigError(
                    f"{path}:{_key_line(path, position)}: {actor!r}: an actor name must not be "
                    "empty; write the canonical name used in the `holder` field"
                )
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ConfigError(
                    f"{path}:{_key_line(path, position)}: {actor}: aliases must be a list of "
                    "strings"
                )
        return cls(data)

    def mentions(self, text: str) -> list[Mention]:
        """Every actor mention in `text`, left to right."""
        found = []
        for match in self._pattern.finditer(text):
            name = match.group()
            actor = self._exact.get(name) or self._folded.get(name.lower())
            if actor is None:  # a case-sensitive alias matched with the wrong case
                continue
            found.append(Mention(actor, match.start(), match.end()))
        return found


def _key_line(path: Path, position: int) -> int | str:
    """The line of the `position`-th top-level key of a YAML mapping file ("?" if unknown)."""
    import yaml

    try:
        node = yaml.compose(path.read_text(encoding="utf-8-sig"))
        return node.value[position][0].start_mark.line + 1
    except (yaml.YAMLError, AttributeError, IndexError, OSError, UnicodeDecodeError):
        return "?"


def actor_dictionary_path(path: str | Path | None, model_dir: str | Path | None = None) -> Path:
    """Which actor dictionary to use: `path` when given; else the model folder's own copy
    (`actors.yaml`, written at training); else `configs/actors.yaml` (older model folders)."""
    if path:
        return Path(path)
    if model_dir is not None and (Path(model_dir) / MODEL_ACTORS_FILE).is_file():
        return Path(model_dir) / MODEL_ACTORS_FILE
    return Path(DEFAULT_ACTORS)


def load_actor_dictionary(
    path: str | Path | None, model_dir: str | Path | None = None
) -> ActorDictionary:
    """The actor dictionary `actor_dictionary_path` picks.

    Raises:
        ConfigError: it cannot be read; when the fallback `configs/actors.yaml` is missing (a
            model folder from before dictionaries were copied, run outside the repository),
            the message says to pass one.
    """
    chosen = actor_dictionary_path(path, model_dir)
    if not path and not chosen.is_file():
        where = f"{model_dir} has no {MODEL_ACTORS_FILE} and " if model_dir else ""
        raise ConfigError(
            f"{chosen}: actor dictionary not found ({where}{DEFAULT_ACTORS} is looked up from "
            f"the current folder, {Path.cwd()}); pass --actors FILE, or retrain the model so "
            f"that its folder carries its own {MODEL_ACTORS_FILE}"
        )
    return ActorDictionary.from_yaml(chosen)


DETERMINERS = {"the", "a", "an", "its", "their", "his", "her"}


def _previous_word(text: str, position: int) -> str:
    """The word before a mention, skipping determiners ("with *the* Taliban" -> "with")."""
    words = [w.lower() for w in re.findall(r"[A-Za-z']+", text[max(0, position - 40) : position])]
    while words and words[-1] in DETERMINERS:
        words.pop()
    return words[-1] if words else ""


def _speaker_mentions(text: str, mentions: list[Mention]) -> list[Mention]:
    speakers = []
    for mention in mentions:
        after = text[mention.end : mention.end + 60]
        before = text[max(0, mention.start - 20) : mention.start]
        if _POSSESSIVE_SPOKES.match(after) or _SAID_BEFORE.search(before):
            speakers.append(mention)
        elif (
            _SAID_AFTER.match(after)
            and _previous_word(text, mention.start) not in TARGET_PREPOSITIONS
        ):
            speakers.append(mention)
    return speakers


def attribute_holder(text: str, actors: ActorDictionary, context: Sequence[str] = ()) -> str:
    """The canonical actor holding the stance in `text`, or `unknown`.

    Args:
        text: the passage.
        actors: the actor dictionary.
        context: preceding sentences of the same document, nearest last, for passages whose
            holder is only a pronoun ("he said").
    """
    mentions = actors.mentions(text)
    speakers = _speaker_mentions(text, mentions)
    if speakers:
        # A quote's attribution ("...," X said) usually ends the sentence; a subject begins it.
        # Prefer the first speaker unless the passage opens with a quotation mark.
        opens_with_quote = text.lstrip()[:1] in {'"', "“", "”", "'"}
        return (speakers[-1] if opens_with_quote else speakers[0]).actor
    subjects = [m for m in mentions if _previous_word(text, m.start) not in TARGET_PREPOSITIONS]
    if subjects:
        return subjects[0].actor
    for sentence in reversed(context):
        earlier = actors.mentions(sentence)
        if earlier:
            speakers = _speaker_mentions(sentence, earlier)
            return (speakers or earlier)[0].actor
    return mentions[0].actor if mentions else UNKNOWN


def holder_accuracy(statements, actors: ActorDictionary, context_sentences: int = 3) -> dict:
    """How often attribution finds the annotated holder of stance statements.

    Statements from the same seed document get their preceding sentences as context, as in
    `stance predict`; authored statements stand alone. `none` statements have no holder and
    are not counted.

    Returns:
        {"overall": {...}, "by_source": {...}, "errors": [...]} with n, correct and accuracy.
    """
    from collections import defaultdict

    by_doc = defaultdict(list)
    for statement in statements:
        by_doc[statement.doc_id].append(statement)
    tally = defaultdict(lambda: [0, 0])
    errors = []
    for items in by_doc.values():
        items.sort(key=lambda s: (s.char_start if s.char_start is not None else -1, s.id))
        for i, statement in enumerate(items):
            if statement.label == "none" or not statement.holder:
                continue
            seeded = statement.source != "authored"
            context = [s.text for s in items[max(0, i - context_sentences) : i]] if seeded else []
            predicted = attribute_holder(statement.text, actors, context)
            for key in ("overall", "seed articles" if seeded else "authored"):
                tally[key][0] += 1
                tally[key][1] += predicted == statement.holder
            if predicted != statement.holder:
                errors.append(
                    {
                        "id": statement.id,
                        "text": statement.text,
                        "holder": statement.holder,
                        "predicted": predicted,
                    }
                )
    summary = {
        key: {"n": n, "correct": ok, "accuracy": round(ok / n, 4) if n else None}
        for key, (n, ok) in tally.items()
    }
    return {
        "overall": summary.get("overall"),
        "by_source": {k: v for k, v in summary.items() if k != "overall"},
        "errors": errors,
    }
