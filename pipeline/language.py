"""Which language an article is in, and whether the model reads it.

The classifier is trained on English news; a Spanish or Arabic article scored by it gives
confident nonsense. Each document's language is identified offline by py3langid (a Naive Bayes
model over byte n-grams, some 140 languages, shipped inside the package) unless the record declares
one. Articles in a language outside `predict.languages` are skipped and reported, never scored.

Identification abstains (language "") on text with too few letters or a low probability: a
headline such as "7 October - 9 December 2001" looks like Nigerian Pidgin to any n-gram model,
and an article we cannot place is better scored than silently dropped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from pipeline.errors import ConfigError

# Enough text to place an article (the head of a long one says as much as all of it).
SAMPLE_CHARS = 10_000
# Below this many letters identification is a guess; checked on the annotated statements, whose
# short English date lines and captions were the only texts taken for another language.
MIN_LETTERS = 40
# The probability (py3langid's, normalised over its languages) a verdict needs.
MIN_PROBABILITY = 0.9

_DECLARED = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify_language(text: str) -> str:
    """The ISO 639 code of the language `text` is in (`en`, `es`, `ar`), or "" when the text is
    too short or the identifier is unsure."""
    sample = text[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return ""
    language, probability = _identifier().classify(sample)
    return language if probability >= MIN_PROBABILITY else ""


def declared_language(value: object) -> str:
    """The language code a record declares (`en`, `en-US` -> `en`), or "" when the value is not
    a language code (missing, empty, "English")."""
    if not isinstance(value, str):
        return ""
    match = _DECLARED.match(value.strip())
    return match.group(1).lower() if match else ""


def check_languages(languages: Collection[str] | None) -> None:
    """Refuse language codes the identifier never gives, before any article is read.

    Raises:
        ConfigError: a code is unknown (the message names `predict.languages`).
    """
    if languages is None:
        return
    known = set(_identifier().labels)
    unknown = [code for code in languages if code not in known]
    if unknown:
        raise ConfigError(
            f"predict.languages: {', '.join(repr(c) for c in unknown)} is not a language code "
            "py3langid gives; use ISO 639-1 codes such as en, es, ar (or null to score every "
            "language)"
        )


def language_skip_reason(language: str, how: str, languages: Collection[str] | None) -> str | None:
    """Why an article in `language` is not scored under `predict.languages`, or None when it is.

    `how` says where the language came from ("identified by py3langid", "declared in field
    'language'"). An undetermined language ("") is always scored.
    """
    if languages is None or not language or language in languages:
        return None
    return (
        f"language {language!r} ({how}) is not one the model is trained for (predict.languages: "
        f"{', '.join(languages)}); not scored. To score it, train on a multilingual base model "
        "and add it to predict.languages, or set predict.languages to null"
    )
