"""Gold articles: whole articles with every sentence labelled, for end-to-end evaluation.

A folder holds `articles.jsonl` (`id`, `text`, optional `title`, `date`, `group`; other fields
are kept as provenance and ignored) and `sentences.jsonl` (`article_id`, `start`, `end`,
`label`, `holder`, `ambiguous`; optional `text`, `target`, ...). Offsets index the article text
as Python string indices, end exclusive. Validation reports every problem as
`file:line: field: message` and keeps the valid rest, like the annotation validator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import DataError, Problem
from pipeline.jsonl import iter_jsonl_objects
from pipeline.labels import LABELS

ARTICLES_FILE = "articles.jsonl"
SENTENCES_FILE = "sentences.jsonl"


@dataclass(frozen=True)
class GoldSentence:
    """One labelled sentence of a gold article."""

    article_id: str
    start: int
    end: int
    label: str
    holders: tuple[str, ...]
    targets: tuple[str, ...]
    ambiguous: bool

    @property
    def is_stance(self) -> bool:
        return self.label != "none"


@dataclass
class GoldArticle:
    """One article and its labelled sentences, in text order."""

    id: str
    text: str
    title: str = ""
    date: str = ""
    group: str = ""
    sentences: list[GoldSentence] = field(default_factory=list)


def _names(value) -> tuple[str, ...]:
    """`"A; B"` -> ("A", "B"); several parties hold or receive one stance."""
    if not value:
        return ()
    return tuple(part.strip() for part in str(value).split(";") if part.strip())


def _read_articles(path: Path, problems: list[Problem]) -> dict[str, GoldArticle]:
    articles: dict[str, GoldArticle] = {}
    for number, data in iter_jsonl_objects(path):
        if isinstance(data, Problem):
            problems.append(data)
            continue
        where = (str(path), number)
        article_id, text = data.get("id"), data.get("text")
        if not isinstance(article_id, (str, int)) or str(article_id).strip() == "":
            problems.append(Problem(*where, "id", "required, a non-empty string"))
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(*where, "text", "required, non-empty text"))
            continue
        article_id = str(article_id)
        if article_id in articles:
            problems.append(Problem(*where, "id", f"duplicate article id {article_id!r}"))
            continue
        extras = {}
        for key in ("title", "date", "group"):
            value = data.get(key)
            if value is not None and not isinstance(value, (str, int)):
                problems.append(Problem(*where, key, "expected a string or null"))
                value = None
            extras[key] = "" if value is None else str(value)
        articles[article_id] = GoldArticle(article_id, text, **extras)
    return articles


def _read_sentence(
    data: dict, where: tuple[str, int], articles: dict[str, GoldArticle]
) -> GoldSentence | Problem:
    article = articles.get(str(data.get("article_id")))
    if article is None:
        return Problem(*where, "article_id", f"unknown article {data.get('article_id')!r}")
    start, end = data.get("start"), data.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        return Problem(*where, "start", "start and end must be integers")
    if not 0 <= start < end <= len(article.text):
        return Problem(
            *where, "start", f"need 0 <= start < end <= {len(article.text)} (got {start}, {end})"
        )
    if "text" in data and data["text"] != article.text[start:end]:
        return Problem(*where, "text", "does not match the article text at start:end")
    label = data.get("label")
    if label not in LABELS:
        return Problem(*where, "label", f"unknown label {label!r} (expected one of {LABELS})")
    ambiguous = data.get("ambiguous", False)
    if not isinstance(ambiguous, bool):
        return Problem(*where, "ambiguous", "expected true or false")
    holders = _names(data.get("holder"))
    if label != "none" and not holders and not ambiguous:
        return Problem(*where, "holder", f"required for label {label!r}")
    return GoldSentence(
        article.id, start, end, label, holders, _names(data.get("target")), ambiguous
    )


def read_gold_articles(folder: str | Path) -> tuple[list[GoldArticle], list[Problem]]:
    """Read and validate a gold-articles folder; return articles (with sentences) and problems.

    Raises:
        DataError: the folder or one of its two files is missing.
    """
    folder = Path(folder)
    for name in (ARTICLES_FILE, SENTENCES_FILE):
        if not (folder / name).is_file():
            raise DataError(f"{folder}: not a gold-articles folder (missing {name})")
    problems: list[Problem] = []
    articles = _read_articles(folder / ARTICLES_FILE, problems)
    path = folder / SENTENCES_FILE
    for number, data in iter_jsonl_objects(path):
        if isinstance(data, Problem):
            problems.append(data)
            continue
        sentence = _read_sentence(data, (str(path), number), articles)
        if isinstance(sentence, Problem):
            problems.append(sentence)
        else:
            articles[sentence.article_id].sentences.append(sentence)
    for article in articles.values():
        article.sentences.sort(key=lambda s: s.start)
        for before, after in zip(article.sentences, article.sentences[1:], strict=False):
            if after.start < before.end:
                problems.append(
                    Problem(
                        str(path),
                        0,
                        "start",
                        f"article {article.id!r}: sentences {before.start}-{before.end} and "
                        f"{after.start}-{after.end} overlap",
                    )
                )
    return list(articles.values()), problems
