"""Who holds a stance and toward whom: extractor spans made canonical, the dictionary rules as
fallback.

The party extractor (`pipeline.party_model`) marks the words that name the holder and the target
of a stance passage. Those words become a canonical actor in this order:

1. the actor whose alias the span is or contains ("Taliban spokesman Zabihullah Mujahid");
2. the actor whose aliases share the span's content words, a shortened name counting
   ("Syria's opposition" -> Syrian Opposition through "Syrian opposition"; "Mr Abbas" ->
   Palestinian Authority through "Mahmoud Abbas"; "the North" -> North Korea when the passage
   or its context names North Korea). A partial match counts only for an actor the passage or
   its context names, and ties go to such an actor (`canonical_party`);
3. nothing: the span is kept as `holder_text` with `holder` empty ("Lho", "a coalition of
   exiled politicians"), never turned into the nearest known actor.

A span made only of pronouns and generic words ("it", "he", "the delegation") is resolved as the
rules resolve references: the nearest party the preceding sentences name. Where the extractor is
unsure (its span score is under `min_score`) or absent, the dictionary rules of
`pipeline.actors` decide, as before.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.actors import (
    UNKNOWN,
    ActorDictionary,
    attribute_holder,
    attribute_target,
    subject_party,
)
from pipeline.party_spans import CONTEXT, join_context

# Words that carry no identity: determiners, pronouns, titles and office words. A span made of
# these alone is a reference to resolve from context.
GENERIC_WORDS = set(
    """a an the this that these those its it it's he she they them his her their we our us i
    mr mrs ms dr sir president prime minister ministers foreign deputy secretary state general
    spokesman spokeswoman spokesperson official officials representative representatives envoy
    leader leaders chief head member members delegation delegates negotiator negotiators side
    group movement party government council committee administration ministry office another
    other senior top new former of for in on at and or to who which said says""".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
# A shortened form: "Syria" for "Syrian", "Afghan" for "Afghanistan" (at least five letters
# shared, so "Iran" does not match "Iraq" and "Korea" needs its own word).
PREFIX_LETTERS = 5


@dataclass(frozen=True)
class Parties:
    """The parties of one passage: canonical actors (empty when unknown) and the words found."""

    holder: str
    holder_text: str = ""
    target: str = ""
    target_text: str = ""


@functools.lru_cache(maxsize=65536)
def content_words(text: str) -> tuple[str, ...]:
    """Lower-cased words of `text` that carry identity (not pronouns, titles or office words);
    a possessive "'s" is dropped ("Syria's" -> "syria")."""
    words = []
    for word in _WORD.findall(text.lower()):
        word = re.sub(r"['’]s$", "", word)
        if word not in GENERIC_WORDS and len(word) > 1:
            words.append(word)
    return tuple(words)


def _index_keys(word: str) -> tuple[str, ...]:
    return (word, word[:PREFIX_LETTERS]) if len(word) >= PREFIX_LETTERS else (word,)


# Per dictionary: alias word (and its first PREFIX_LETTERS letters) -> actors with such a word,
# so a span is compared with the few actors that share a word, not with every alias.
_WORD_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _candidate_actors(words: Sequence[str], actors: ActorDictionary) -> list[str]:
    """Actors with an alias word that may match one of `words`, in dictionary order."""
    index = _WORD_INDEX.get(actors)
    if index is None:
        index = {}
        for actor, aliases in actors.aliases.items():
            for alias in [actor, *aliases]:
                for word in content_words(alias):
                    for key in _index_keys(word):
                        index.setdefault(key, set()).add(actor)
        _WORD_INDEX[actors] = index
    found = set()
    for word in words:
        for key in _index_keys(word):
            found |= index.get(key, set())
    return [actor for actor in actors.aliases if actor in found]


def _words_match(word: str, alias_word: str) -> bool:
    if word == alias_word:
        return True
    shorter, longer = sorted((word, alias_word), key=len)
    # At least PREFIX_LETTERS letters shared, and all of the shorter word but its last letter.
    return len(shorter) >= PREFIX_LETTERS and longer.startswith(
        shorter[: max(PREFIX_LETTERS, len(shorter) - 1)]
    )


def _alias_score(words: Sequence[str], alias: str) -> tuple[int, bool]:
    """How many of a span's content words an alias has, and whether the alias's last word (a
    surname, a head noun: "Abbas" of "Mahmoud Abbas", "opposition" of "Syrian opposition") is
    among them."""
    alias_words = content_words(alias)
    if not alias_words:
        return 0, False
    matched = [w for w in words if any(_words_match(w, a) for a in alias_words)]
    return len(matched), any(_words_match(w, alias_words[-1]) for w in matched)


def canonical_party(
    span: str, nearby: str, actors: ActorDictionary, document: Sequence[str] = ()
) -> str:
    """The canonical actor `span` names, "" when it names none (see the module docstring).

    An alias inside the span decides. Otherwise an actor whose aliases share the span's content
    words qualifies when the passage or its context (`nearby`) names it, or when the match is
    unmistakable: every content word matched, the alias's last word among them, and either two
    words or a proper name ("Syria's opposition", "Mr Abbas"; not "the army" or "the North"
    alone). The most words matched wins, then the alias's last word; a tie is no answer.
    `document`: the parties the whole article names, which count as named nearby.
    """
    direct = actors.mentions(span)
    words = content_words(span)
    if direct:
        # "Syria's opposition": a possessor's alias inside a span whose other words name
        # another actor in full; otherwise the alias decides ("Russia's foreign minister").
        outside = _outside_mentions(span, direct)
        whole = content_words(outside) and _full_match(words, actors, exclude=direct[0].actor)
        return whole or direct[0].actor
    if not words:
        return ""
    named = {m.actor for m in actors.mentions(nearby)} | set(document)
    proper = any(w[:1].isupper() for w in _WORD.findall(span) if w.lower() in words)
    scores = {}
    for actor, (count, last) in _actor_scores(words, actors).items():
        unmistakable = count == len(words) and last and (len(words) >= 2 or proper)
        if count and (actor in named or unmistakable):
            scores[actor] = (count, last)
    if not scores:
        return ""
    top = max(scores.values())
    leaders = [actor for actor, score in scores.items() if score == top]
    if len(leaders) > 1:
        leaders = [actor for actor in leaders if actor in named]
    return leaders[0] if len(leaders) == 1 else ""


def _outside_mentions(span: str, mentions) -> str:
    """The words of `span` outside the given alias mentions."""
    parts, position = [], 0
    for mention in mentions:
        parts.append(span[position : mention.start])
        position = mention.end
    parts.append(span[position:])
    return " ".join(parts)


def _actor_scores(words: Sequence[str], actors: ActorDictionary) -> dict[str, tuple[int, bool]]:
    """Each candidate actor's best alias score for `words` (`_alias_score`: words matched, then
    the alias's last word among them)."""
    return {
        actor: max(_alias_score(words, alias) for alias in [actor, *actors.aliases[actor]])
        for actor in _candidate_actors(words, actors)
    }


def _full_match(words: Sequence[str], actors: ActorDictionary, exclude: str) -> str:
    """The one actor (not `exclude`) an alias of which has every word and ends with one of
    them, or ""."""
    full = (len(words), True)
    found = [
        actor
        for actor, score in _actor_scores(words, actors).items()
        if score == full and actor != exclude
    ]
    return found[0] if len(found) == 1 else ""


def resolve_span(
    span_text: str, text: str, context: Sequence[str], actors: ActorDictionary, excluded: str
) -> str:
    """The actor a found span names; a reference ("it", "the group") becomes the nearest other
    party the passage's context names."""
    nearby = " ".join([*context, text])
    actor = canonical_party(span_text, nearby, actors)
    if actor or content_words(span_text):
        return actor
    for sentence in reversed(context):
        for mention in actors.mentions(sentence):
            if mention.actor != excluded:
                return mention.actor
    return ""


# The speaker of reported speech: the words after a clause boundary (or the sentence start) and
# right before "said", "has said", "told" ("..., Mr Abbas said:", "An opposition council meeting
# in Riyadh said ..."). At most twelve words, so a whole clause is rarely taken for a name.
_SPEECH_SUBJECT = re.compile(
    r"(?:^|[,;:\"“”(]\s*)(?P<subject>(?:[\w'’.-]+\s+){0,11}?[\w'’.-]+)\s+"
    r"(?:has\s+|had\s+|have\s+)?(?:said|says|told|tells|stated|declared|announced|insisted)\b"
)
_BOUNDARIES = set(',;:"“”(')
PRONOUNS = {"it", "he", "she", "they", "we", "i"}
_CLAUSE_OPENERS = {"after", "when", "as", "while", "because", "but", "and", "before", "since"}
_CLAUSE_OPENERS |= {"although", "though", "if", "so", "then", "also", "later"}
_NOT_SUBJECTS = {"", "has", "had", "have", "also", "then", "later", "it has", "which"}
# Where the name ends and a description of it begins: "an opposition council *convening in*
# Riyadh", "a spokesman *for* the ministry *in* Kabul".
_HEAD_END = re.compile(
    r"\s+(?:in|at|from|to|on|who|which|that|after|before|during|\w+ing)\b.*$", re.I
)


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges inside double quotation marks. Curly marks say their direction (an
    unmatched ” closes a quote opened before the passage, an unmatched “ runs to its end);
    straight ones count in pairs, and an unpaired one, which may open or close, marks nothing.
    """
    spans, opened, straight = [], None, []
    for mark in re.finditer(r'["“”]', text):
        if mark.group() == "“":
            opened = mark.end() if opened is None else opened
        elif mark.group() == "”":
            spans.append((0 if opened is None else opened, mark.start()))
            opened = None
        else:
            straight.append(mark.start())
    if opened is not None:
        spans.append((opened, len(text)))
    # An odd straight mark out is left unpaired (strict=False), as the docstring says.
    pairs = zip(straight[::2], straight[1::2], strict=False)
    spans.extend((start + 1, end) for start, end in pairs)
    return spans


def speech_subject(text: str) -> str:
    """The phrase that speaks in `text` ("An opposition council meeting in Riyadh"), or "".

    An attribution after a clause boundary ("..., a State Department spokesman said") wins over
    a sentence-initial one, whose words may be a whole clause ("We told them ..."); the last
    such attribution is the one that closes the sentence. Speech reported inside a quotation
    ('Hamas said: "Israel told us nothing"') is the quoted speaker's, not the passage's.
    """
    quoted = quoted_spans(text)
    matches = [
        match
        for match in _SPEECH_SUBJECT.finditer(text)
        if not any(start <= match.start("subject") < end for start, end in quoted)
    ]
    if not matches:
        return ""
    attributions = [m for m in matches if m.group(0)[:1] in _BOUNDARIES]
    match = attributions[-1] if attributions else matches[0]
    words = match.group("subject").split()
    while words and words[0].lower() in _CLAUSE_OPENERS:
        words.pop(0)
    subject = " ".join(words)
    return "" if subject.lower() in _NOT_SUBJECTS else subject


def rules_holder(
    text: str, context: Sequence[str], actors: ActorDictionary, document: Sequence[str] = ()
) -> tuple[str, str]:
    """The holder by rules, and the speaker's words when they name no known actor.

    The speaker of reported speech comes first: a name the dictionary can resolve as written
    ("Mr Abbas", "Syria's opposition", "an opposition council" where the context names the
    Syrian opposition), a sentence-initial pronoun ("It has said ...") as the party the previous
    sentence is about, or, when it names nothing known ("Minister Okonjo-Vale said"), the words
    themselves with no holder. Otherwise the dictionary rules of `attribute_holder`.
    """
    subject = speech_subject(text)
    if subject:
        nearby = " ".join([*context, text])
        if subject.lower() in PRONOUNS:
            if text.lstrip().lower().startswith(subject.lower()):
                for sentence in reversed(context):
                    if actors.mentions(sentence):
                        return attribute_holder(sentence, actors), ""
        else:
            head = _HEAD_END.sub("", subject)
            actor = canonical_party(head, nearby, actors, document) or canonical_party(
                subject, nearby, actors, document
            )
            if actor:
                return actor, ""
            if content_words(head) and not actors.mentions(subject):
                # A speaker the dictionary cannot name ("Marcelo Ebrard"): the party the clause
                # is about when the passage names one ("Mexico will keep hosting the talks"),
                # else no holder; the speaker's words are kept either way.
                return subject_party(text, actors), subject
    return attribute_holder(text, actors, context), ""


def mention_under(span, context: str, text: str, actors: ActorDictionary) -> str:
    """The actor of the longest dictionary alias the span overlaps in its own sentence ("Syrian"
    found inside "Syrian opposition"), or "": the dictionary knows where a name ends better than
    a span cut at a word piece."""
    segment = context if span.segment == CONTEXT else text
    overlapping = [m for m in actors.mentions(segment) if m.start < span.end and span.start < m.end]
    if not overlapping:
        return ""
    return max(overlapping, key=lambda m: m.end - m.start).actor


def attribute_parties(
    text: str,
    context: Sequence[str],
    actors: ActorDictionary,
    found=None,
    min_score: float = 0.5,
    document: Sequence[str] = (),
) -> Parties:
    """Holder and target of one passage: from the extractor's spans (`found`, a (holder span,
    target span) pair from `PartyExtractor.extract`) where it is sure, else from the rules.

    Args:
        text: the passage.
        context: the preceding sentences, nearest last.
        actors: the actor dictionary.
        found: the extractor's spans for (join_context(context), text), or None: rules only.
        min_score: the span score under which the rules decide instead.
        document: the parties the whole document names, most often first
            (`actors.document_parties`): they name a descriptive speaker ("an opposition
            representative") as the context does, and the target falls back to the first of
            them that is not the holder.
    """
    holder_span, target_span = found if found is not None else (None, None)
    joined = join_context(context)

    def words_of(span) -> str:
        return (joined if span.segment == CONTEXT else text)[span.start : span.end]

    if holder_span is not None and holder_span.score >= min_score:
        holder_text = words_of(holder_span)
        holder = mention_under(holder_span, joined, text, actors) or resolve_span(
            holder_text, text, context, actors, excluded=""
        )
    else:
        holder, holder_text = rules_holder(text, context, actors, document)
    if target_span is not None and target_span.score >= min_score:
        target_text = words_of(target_span)
        target = mention_under(target_span, joined, text, actors) or resolve_span(
            target_text, text, context, actors, excluded=holder
        )
        if target == holder:
            target = ""
    else:
        target = attribute_target(text, actors, holder or UNKNOWN, context, document)
        target_text = ""
    return Parties(holder, holder_text, target, target_text)


def attribute_stance_rows(
    extractor, rows: list[dict], passages: Sequence, actors: ActorDictionary, min_score: float
) -> None:
    """Give the stance rows of a scored batch the extractor's holder and target (in place).

    Only stance passages are read by the extractor: in news 85-90% of passages take no stance,
    and their rows keep the dictionary rules' holder, which no summary counts.
    """
    stance = [i for i, row in enumerate(rows) if row["label"] != "none"]
    if not stance:
        return
    found = extractor.extract(
        [(join_context(passages[i].context), passages[i].text) for i in stance]
    )
    for index, spans in zip(stance, found, strict=True):
        passage = passages[index]
        parties = attribute_parties(
            passage.text, passage.context, actors, spans, min_score, passage.document_parties
        )
        rows[index].update(
            holder=parties.holder,
            holder_text=parties.holder_text,
            target=parties.target,
            target_text=parties.target_text,
        )


# The party extractor's folder inside a model folder (`stance train` writes it when
# `parties.enabled`); a model folder without one attributes with the dictionary rules alone.
PARTIES_DIR = "parties"


@dataclass
class PartyAttribution:
    """A loaded party extractor and the span score under which the rules decide instead."""

    extractor: object  # pipeline.party_model.PartyExtractor
    min_score: float

    def attribute(self, rows: list[dict], passages: Sequence, actors: ActorDictionary) -> None:
        attribute_stance_rows(self.extractor, rows, passages, actors, self.min_score)


def load_party_attribution(model_dir) -> PartyAttribution | None:
    """The party extractor a model folder carries (`parties/`), or None when it has none.

    Raises:
        ModelFolderError: `parties/` exists but is not a complete extractor folder, or
            meta.json records an extractor the folder does not hold (a copy that left it out
            would otherwise attribute with the rules alone, silently).
    """
    from pathlib import Path

    from pipeline.errors import ModelFolderError
    from pipeline.party_model import PartyExtractor

    folder = Path(model_dir) / PARTIES_DIR
    if not folder.is_dir():
        if _records_parties(Path(model_dir) / "meta.json"):
            raise ModelFolderError(
                f"{folder}: missing, but {Path(model_dir) / 'meta.json'} records a party "
                "extractor (parties); copy parties/ from the model's source, or retrain the "
                "model (`stance train` with `parties.enabled: true`)"
            )
        return None
    extractor = PartyExtractor.load(folder)
    return PartyAttribution(extractor, float(extractor.meta.get("min_score", 0.5)))


def _records_parties(meta_path) -> bool:
    """Whether a model folder's meta.json records a party extractor (an unreadable meta.json
    is the stance model loader's to report)."""
    import json

    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and bool(meta.get("parties"))
