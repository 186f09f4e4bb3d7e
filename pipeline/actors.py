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

The target (the other party of the talks) follows its own rules, in `attribute_target`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
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

    `codes` holds the actor codes the dictionary gives (`code:`; None for `code: null`); any
    other actor's code comes from its name (`code`).
    """

    def __init__(self, aliases: dict[str, list[str]], codes: dict[str, str | None] | None = None):
        self.aliases = {actor: list(names) for actor, names in aliases.items()}
        self.codes = dict(codes or {})
        exact, folded = {}, {}
        for actor, names in self.aliases.items():
            for name in [actor, *names]:
                key, case_sensitive = match_key(name)
                if key:
                    (exact if case_sensitive else folded)[key] = actor
        self._exact, self._folded = exact, folded
        alternatives = sorted({*exact, *folded}, key=len, reverse=True)
        pattern = "|".join(re.escape(a) for a in alternatives)
        self._pattern = re.compile(rf"(?<![\w.])(?:{pattern})(?![\w])", re.IGNORECASE)
        # Attributing one passage looks up the same passage and context several times (holder,
        # target, speaker rules); the matcher tries every alias at each word, so the last few
        # answers are kept (a plain dict: the dictionary still pickles for worker processes).
        self._recent: dict[str, tuple[Mention, ...]] = {}

    @classmethod
    def from_yaml(cls, path: str | Path) -> ActorDictionary:
        """Load `canonical: [alias, ...]` or `canonical: {code: AFG, aliases: [alias, ...]}`
        entries from YAML (the two forms mix freely).

        Raises:
            ConfigError: the file is missing or not a mapping of such entries; a `code` that is
                not three capital letters (or null); an unknown key in an entry.
        """
        path = Path(path)
        data = read_yaml_file(path, "actor dictionary")
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of actor -> list of aliases")
        aliases, codes, owners = {}, {}, {}
        for position, (actor, entry) in enumerate(data.items()):
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

            # The line is found only for a message: composing the YAML again costs far more than
            # reading an entry, and a good dictionary has no message to write.
            def where(position=position, actor=actor) -> str:
                return f"{path}:{_key_line(path, position)}: {actor}"

            aliases[actor], entry_code = _dictionary_entry(actor, entry, where)
            _check_aliases(actor, aliases[actor], owners, where)
            codes.update(entry_code)
        return cls(aliases, codes)

    def code(self, actor: str) -> str | None:
        """The actor code of a canonical actor (PLOVER's `code`): the dictionary's `code` when
        its entry gives one (None for `code: null`), else the ISO 3166 alpha-3 code when the
        name is a country's (`country_code`), else None: non-state actors, `unknown`, ""."""
        if actor in self.codes:
            return self.codes[actor]
        return None if actor == UNKNOWN else country_code(actor)

    def mentions(self, text: str) -> list[Mention]:
        """Every actor mention in `text`, left to right."""
        found = self._recent.get(text)
        if found is None:
            found = self._find_mentions(text)
            if len(self._recent) >= 32:
                self._recent.clear()
            self._recent[text] = found
        return list(found)

    def _find_mentions(self, text: str) -> tuple[Mention, ...]:
        found = []
        for match in self._pattern.finditer(text):
            name = match.group()
            actor = self._exact.get(name) or self._folded.get(name.lower())
            if actor is None:  # a case-sensitive alias matched with the wrong case
                continue
            found.append(Mention(actor, match.start(), match.end()))
        return tuple(found)


def match_key(name: str) -> tuple[str, bool]:
    """How a dictionary name is matched: (key, case-sensitive). Acronyms and names with dots
    ("US", "U.S.") match as written, so the pronoun "us" is no actor; others ignore case."""
    name = name.strip()
    case_sensitive = (name.isupper() and len(name.replace(".", "")) <= 5) or "." in name
    return (name if case_sensitive else name.lower()), case_sensitive


def _check_aliases(
    actor: str, names: list[str], owners: dict[str, str], where: Callable[[], str]
) -> None:
    """Refuse names that would attribute holders the text does not name: one with no letter or
    digit (it matches punctuation), a single character (it matches "a", "I"), or one that is
    already another actor's (which actor it names would depend on the order of the file).
    `owners` maps each matched key seen so far to its actor.

    Raises:
        ConfigError: naming the entry and the alias.
    """
    for position, name in enumerate([actor, *names]):
        key, _ = match_key(name)
        if not key:
            continue
        shown = f"{'name' if position == 0 else 'alias'} {name!r}"
        if not any(ch.isalnum() for ch in key):
            raise ConfigError(
                f"{where()}: {shown} has no letter or digit, so it would match punctuation in "
                "any text; remove it"
            )
        if len(key) == 1:
            raise ConfigError(
                f"{where()}: {shown} is a single character, so it would match ordinary words "
                "('a', 'I'); write the name in full"
            )
        owner = owners.setdefault(key, actor)
        if owner != actor:
            raise ConfigError(
                f"{where()}: {shown} is also a name of {owner!r}; a name must belong to one "
                "actor: remove it from one of the two entries"
            )


# What an entry of the mapping form may hold; a code is three capital letters, as PLOVER's
# actor codes are (ISO 3166 alpha-3 for states; IGO, NGO, ISM, IMG, MNC for non-state actors).
ENTRY_KEYS = ("aliases", "code")
_ACTOR_CODE = re.compile(r"[A-Z]{3}")


def _dictionary_entry(
    actor: str, entry, where: Callable[[], str]
) -> tuple[list[str], dict[str, str | None]]:
    """The aliases of one dictionary entry, and `{actor: code}` when it gives a `code` (else
    `{}`); `where()` locates the entry in messages.

    Raises:
        ConfigError: not a list of strings nor a mapping of `aliases` and `code`; a bad code.
    """
    if not isinstance(entry, dict):
        names, code = entry, {}
    else:
        unknown = [str(key) for key in entry if key not in ENTRY_KEYS]
        if unknown:
            raise ConfigError(
                f"{where()}: unknown key(s) {', '.join(unknown)}; an entry is a list of aliases "
                "or a mapping with `aliases` (a list) and `code` (e.g. {code: AFG, aliases: "
                "[Kabul]})"
            )
        names = entry.get("aliases", [])
        code = {actor: entry["code"]} if "code" in entry else {}
        given = code.get(actor)
        if given is not None and not (isinstance(given, str) and _ACTOR_CODE.fullmatch(given)):
            raise ConfigError(
                f"{where()}: code {given!r} is not an actor code; write three capital letters "
                "(an ISO 3166 alpha-3 code such as AFG, or IGO, NGO, ISM, IMG, MNC), or "
                "`code: null` for none"
            )
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where()}: aliases must be a list of strings")
    return names, code


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Case-folded country names (ISO 3166 short, common and official names) -> alpha-3."""
    import pycountry

    names = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                names[name.casefold()] = country.alpha_3
    return names


def country_code(name: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of the country `name` names as a whole ("United States",
    "Iran", "North Korea", any case), else None.

    Whole names only, from pycountry's ISO data: "Syrian Opposition" or "Afghan Government"
    name no country (such entries carry a `code` in the dictionary), and an actor called "PA"
    is not taken for Panama's code.
    """
    return _country_names().get(name.strip().casefold()) if name else None


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


def subject_party(text: str, actors: ActorDictionary) -> str:
    """The first actor `text` names outside target position (not after "with", "to", nor a
    strong target cue: "*meet* X", "*engage* X"), or "": the party a clause is about
    ("*Mexico* will keep hosting the talks, an aide said"), never the one it would talk to."""
    for mention in actors.mentions(text):
        if (
            _previous_word(text, mention.start) not in TARGET_PREPOSITIONS
            and _cue_strength(text, mention) != 0
        ):
            return mention.actor
    return ""


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
    subjects = [
        m
        for m in mentions
        if _previous_word(text, m.start) not in TARGET_PREPOSITIONS and not is_outlet(text, m)
    ]
    if subjects:
        return subjects[0].actor
    for sentence in reversed(context):
        earlier = actors.mentions(sentence)
        if earlier:
            speakers = _speaker_mentions(sentence, earlier)
            return (speakers or earlier)[0].actor
    return mentions[0].actor if mentions else UNKNOWN


# Words right before a party that make it the other side of the talks. Strong: "talks *with* X",
# "*meet* X", "talks *between* X and Y", "*talk to* X"; weak: "an offer *to* X", "an invitation
# *from* X" (the invitation may come from a host: "an invitation from Oman to talk with X").
_STRONG_CUE = (
    r"with|between|meet|meets|meeting|met|engage|engaging|recogni[sz]e|recogni[sz]ing|"
    r"(?:talk\w*|speak\w*|spoke|negotiat\w*)(?:\s+directly)?\s+to"
)
_WEAK_CUE = (
    r"(?:offer\w*|propos\w*|invit\w*|overtures?|appeal\w*|message|letter|olive branch|outreach|"
    r"reach\w* out|respon\w*|repl\w*|ultimatum|demands?)(?:\s+[\w'’-]+){0,3}?\s+"
    r"(?:to|from|toward|towards)"
)
# Up to two lower-case words may stand between the cue and the party ("with the paramilitary X").
_CUE_END = r"\s+(?:(?:the|a|an)\s+)?(?P<skipped>(?:[a-z][\w-]*\s+){0,2})$"
_TARGET_CUES = (
    re.compile(rf"\b(?:{_STRONG_CUE}){_CUE_END}", re.I),
    re.compile(rf"\b(?:{_WEAK_CUE}){_CUE_END}", re.I),
)
# Words that end a cue's reach: "talks with officials *in* Doha" does not make Doha a party.
_CUE_BREAKERS = {"in", "at", "on", "of", "for", "about", "over", "by", "from", "to", "and", "or"}
_CUE_BREAKERS |= {"who", "which", "that", "talks", "negotiations", "representatives"}
# "X's offer", "X's new peace plan", "the American proposal": the party whose move the holder
# answers.
_OFFER_NOUNS = (
    r"(?:offers?|proposals?|invitations?|overtures?|calls?|plans?|initiatives?|demands?|"
    r"conditions|terms|ceasefire|truce|peace)\b"
)
_OFFER_OF = re.compile(rf"^(?:['’]s?\s+(?:[\w-]+\s+){{0,2}}?|\s+){_OFFER_NOUNS}", re.I)
# A party named only by reference ("talks with them", "their proposal", "meet the rebels"): it
# is resolved from the preceding sentences.
_REFERENCE_TARGET = re.compile(
    r"\b(?:with|meet\w*|met|to|from|between)\s+(?:them|him|the other side|the (?:group|rebels|"
    r"insurgents|militants|movement|regime|junta|government|militia))\b"
    r"|\b(?:their|his|her)\s+(?:[\w-]+\s+)?(?:offers?|proposals?|invitations?|overtures?|plans?|"
    r"initiatives?|demands|conditions|terms)\b",
    re.I,
)
_JOINED = re.compile(r"[\s,]*(?:and|or)\s+(?:the\s+)?", re.I)
# A place where the talks are, not who they are with: "talks *in* Doha", "back *to* Cairo", "the
# *Moscow* gathering", "the *Oman* channel".
_VENUE_WORDS = {"in", "at", "to", "from", "via", "through", "by"}
_VENUE_AFTER = re.compile(
    r"^[\s-]+(?:peace\s+)?(?:talks|meeting|gathering|process|channel|conference|summit|round|"
    r"format|table|declaration|framework|track|accords?)\b",
    re.I,
)


# A national adjective of a news outlet ("the *British* newspaper", "*French* television") names
# where a statement was made, not a party to the talks.
_OUTLET_AFTER = re.compile(
    r"^\s+(?:daily|newspaper|paper|television|tv|radio|broadcaster|news\s+agency|magazine|"
    r"media|outlet|channel|press)\b",
    re.I,
)


def is_outlet(text: str, mention: Mention) -> bool:
    """Whether the mention qualifies a news outlet ("the British newspaper")."""
    return bool(_OUTLET_AFTER.match(text[mention.end : mention.end + 20]))


def _cue_strength(text: str, mention: Mention) -> int | None:
    """0 for a strong target cue before the mention, 1 for a weak one or "X's offer", else None
    (always None for an outlet's nationality: "an interview *with* the British newspaper")."""
    if is_outlet(text, mention):
        return None
    before = text[max(0, mention.start - 70) : mention.start]
    for strength, cue in enumerate(_TARGET_CUES):
        match = cue.search(before)
        if match and not set(match.group("skipped").lower().split()) & _CUE_BREAKERS:
            return strength
    return 1 if _OFFER_OF.match(text[mention.end : mention.end + 40]) else None


def _cued_targets(text: str, mentions: list[Mention], excluded: set[str]) -> list[str]:
    """Actors in target position, strong cues first, then in text order; a party joined to a
    cued one ("between X and Y", "with X and Y") shares its cue."""
    cued, previous = [], None
    for position, mention in enumerate(mentions):
        strength = _cue_strength(text, mention)
        if previous is not None and _JOINED.fullmatch(text[previous[0].end : mention.start]):
            strength = previous[1] if strength is None else min(strength, previous[1])
        if strength is not None and mention.actor not in excluded:
            cued.append((strength, position, mention.actor))
        previous = (mention, strength) if strength is not None else None
    return [actor for _, _, actor in sorted(cued)]


def _is_venue(text: str, mention: Mention) -> bool:
    return _previous_word(text, mention.start) in _VENUE_WORDS or bool(
        _VENUE_AFTER.match(text[mention.end : mention.end + 30])
    )


def _party_counts(
    text: str, mentions: list[Mention], excluded: set[str], places: bool = True
) -> dict[str, int]:
    """Mentions per party in `text`, in first-mention order; news outlets never count, places
    of talks only when nothing else is named (never, with `places=False`)."""
    others = [m for m in mentions if m.actor not in excluded and not is_outlet(text, m)]
    parties = [m for m in others if not _is_venue(text, m)] or (others if places else [])
    counts: dict[str, int] = {}
    for mention in parties:
        counts[mention.actor] = counts.get(mention.actor, 0) + 1
    return counts


def _salient_party(
    text: str, mentions: list[Mention], excluded: set[str], places: bool = True
) -> str:
    """The party mentioned most often (first mentioned on ties), places of talks last (never,
    with `places=False`)."""
    counts = _party_counts(text, mentions, excluded, places)
    # dicts keep first-mention order; max keeps the first
    return max(counts, key=counts.get) if counts else ""


def document_parties(text: str, actors: ActorDictionary) -> tuple[str, ...]:
    """The parties a whole document names, most often first (first mention on ties); places of
    talks and news outlets do not count.

    An article about talks is about one dyad, named again and again ("Sudan's army" and "the
    RSF"), while a mediator or a passing party is named once or twice. The first party here that
    is not a passage's holder is the other side of that dyad: `attribute_target` falls back to it
    when the passage names no party in target position.
    """
    counts = _party_counts(text, actors.mentions(text), {UNKNOWN}, places=False)
    return tuple(sorted(counts, key=counts.get, reverse=True))  # sorted is stable: ties keep order


def _context_party(context: Sequence[str], actors: ActorDictionary, excluded: set[str]) -> str:
    """The nearest other party the preceding sentences name (cued, else the most salient); a
    sentence that names only a place ("answered from Doha") yields to an earlier party."""
    for places in (False, True):
        for sentence in reversed(context):
            mentions = actors.mentions(sentence)
            cued = _cued_targets(sentence, mentions, excluded)
            party = cued[0] if cued else _salient_party(sentence, mentions, excluded, places)
            if party:
                return party
    return ""


def attribute_target(
    text: str,
    actors: ActorDictionary,
    holder: str,
    context: Sequence[str] = (),
    document: Sequence[str] = (),
) -> str:
    """The canonical actor the stance in `text` is toward (the other party of the talks), or "".

    Rules, in order of evidence (never the holder itself, never `unknown`):
    1. a party in target position, strong cues before weak ones: after "with", "meet",
       "between", "engage", "recognise", "talk to" (strong); after "to"/"from" following offer
       words ("an invitation from X"), or the party whose move is answered ("X's offer",
       "the American proposal") (weak);
    2. a party named by reference ("talks with them", "their proposal", "meet the rebels"):
       the nearest other party in the preceding sentences;
    3. the other side of the document's main dyad: the party the whole document names most
       often, other than the holder (`document_parties`). A party the passage names without a
       cue is as often a mediator, a venue's host or a party talked about as the one talked to;
       the side the article keeps naming is the better guess (annotation splits: target
       accuracy 0.57 -> 0.72, README "Holders");
    4. the other party the passage mentions most often (first on ties), not counting places
       of the talks ("in Doha", "convening in Riyadh");
    5. the nearest other party in the preceding sentences (nearest last in `context`), places
       of talks only when no sentence names another party;
    6. a place of the talks the passage names, when nothing else is named;
    7. "" when neither the passage, its context nor its document names another party.

    Args:
        text: the passage.
        actors: the actor dictionary.
        holder: the holder attributed to the passage (`attribute_holder`).
        context: preceding sentences of the same document, nearest last.
        document: the document's parties, most often named first (`document_parties`); empty
            when the passage is scored alone.
    """
    excluded = {holder, UNKNOWN}
    mentions = actors.mentions(text)
    cued = _cued_targets(text, mentions, excluded)
    if cued:
        return cued[0]
    if _REFERENCE_TARGET.search(text):
        party = _context_party(context, actors, excluded)
        if party:
            return party
    counterpart = next((party for party in document if party not in excluded), "")
    return (
        counterpart
        or _salient_party(text, mentions, excluded, places=False)
        or _context_party(context, actors, excluded)
        or _salient_party(text, mentions, excluded)
    )


def holder_accuracy(
    statements, actors: ActorDictionary, context_sentences: int = 3, parties=None
) -> dict:
    """How often attribution finds the annotated holder, and the annotated target, of stance
    statements.

    Each statement gets the statements before it in its document as context (seed articles by
    offset, authored stories by id, which are written in article order), as `stance predict`
    gives a passage its preceding sentences, and the parties its document's statements name (as
    predict counts an article's). `none` statements have no holder and are not counted. The
    target is attributed as `stance predict` does, from the predicted holder, and measured on
    statements with a non-empty `target`.

    Args:
        parties: a `parties.PartyAttribution` (a model folder's party extractor): measure it
            (with the rules where it is unsure) instead of the dictionary rules alone.

    Returns:
        {"overall": {...}, "by_source": {...}, "errors": [...], "targets": {"overall",
        "by_source", "errors"}} with n, correct and accuracy.
    """
    from collections import defaultdict

    from pipeline.parties import attribute_parties
    from pipeline.party_spans import join_context

    by_doc = defaultdict(list)
    for statement in statements:
        by_doc[statement.doc_id].append(statement)
    cases = []
    for items in by_doc.values():
        items.sort(key=lambda s: (s.char_start if s.char_start is not None else -1, s.id))
        named = document_parties("\n".join(s.text for s in items), actors)
        for i, statement in enumerate(items):
            if statement.label != "none" and statement.holder:
                context = [s.text for s in items[max(0, i - context_sentences) : i]]
                cases.append((statement, context, named))
    if parties is None:
        attributed = [attribute_parties(s.text, c, actors, document=d) for s, c, d in cases]
    else:
        found = parties.extractor.extract([(join_context(c), s.text) for s, c, _ in cases])
        attributed = [
            attribute_parties(s.text, c, actors, spans, parties.min_score, d)
            for (s, c, d), spans in zip(cases, found, strict=True)
        ]
    holders, targets = _Tally("holder"), _Tally("target")
    for (statement, _, _), result in zip(cases, attributed, strict=True):
        source = "seed articles" if statement.source != "authored" else "authored"
        holders.add(statement, source, result.holder)
        if statement.target:
            targets.add(statement, source, result.target)
    return {**holders.summary(), "targets": targets.summary()}


class _Tally:
    """Right and wrong attributions of one field (`holder`, `target`), overall and by source."""

    def __init__(self, field: str):
        self.field = field
        self.counts: dict[str, list[int]] = {}
        self.errors: list[dict] = []

    def add(self, statement, source: str, predicted: str) -> None:
        gold = getattr(statement, self.field)
        for key in ("overall", source):
            count = self.counts.setdefault(key, [0, 0])
            count[0] += 1
            count[1] += predicted == gold
        if predicted != gold:
            self.errors.append(
                {
                    "id": statement.id,
                    "text": statement.text,
                    self.field: gold,
                    "predicted": predicted,
                }
            )

    def summary(self) -> dict:
        figures = {
            key: {"n": n, "correct": ok, "accuracy": round(ok / n, 4) if n else None}
            for key, (n, ok) in self.counts.items()
        }
        return {
            "overall": figures.get("overall"),
            "by_source": {k: v for k, v in figures.items() if k != "overall"},
            "errors": self.errors,
        }
