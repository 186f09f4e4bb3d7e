"""End-to-end evaluation on whole gold articles: what a user meets when scoring news.

Articles go through the product's own path (the record reader, sentence segmentation, holder
attribution, the model's backend and decision rule). Each predicted passage is matched to the
gold sentences it overlaps; a passage touching an ambiguous gold sentence is left out. Then:

- stance precision: predicted stance passages whose gold is a stance / predicted stance passages;
- stance recall: gold stance sentences covered by a predicted stance passage / gold stance sentences;
- label accuracy and holder accuracy on matched stance passages (gold stance, predicted stance);
- target accuracy on those whose gold sentence names a target (the other party of the talks);
- false stance calls per 100 no-stance sentences;

overall and per article group, each with a 95% percentile bootstrap interval over articles
(articles, not passages, are the independent units).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.actors import ActorDictionary
from pipeline.articles import Document
from pipeline.gold_articles import GoldArticle, GoldSentence
from pipeline.prediction.rows import Passage
from pipeline.scoring import SegmentOptions, document_passages, score_passages

ALL = "all"
NO_STANCE_GROUPS = ("passing", "unrelated")


@dataclass(frozen=True)
class MatchedPassage:
    """A predicted passage and the gold it overlaps."""

    article: int  # index into the article list
    predicted: str
    stance_score: float  # 1 - p(none)
    holder: str
    gold: str | None  # "none", a stance label, or None when left out (ambiguous)
    gold_holders: tuple[str, ...]
    target: str = ""
    gold_targets: tuple[str, ...] = ()  # empty when the gold sentence names no target


@dataclass(frozen=True)
class GoldCounts:
    """Per article: unambiguous gold stance and none sentences, and which stance ones were found."""

    stance: int
    none: int
    found: int


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def _overlapping(passage_start: int, passage_end: int, sentences: Sequence[GoldSentence]):
    """Gold sentences that share at least half of themselves or half of the passage with it
    (segmenters differ by a character or a trailing quote; a sliver is not a match)."""
    result = []
    for sentence in sentences:
        shared = _overlap(passage_start, passage_end, sentence.start, sentence.end)
        if shared and shared * 2 >= min(sentence.end - sentence.start, passage_end - passage_start):
            result.append((shared, sentence))
    return result


def canonical_names(names: Sequence[str], actors: ActorDictionary) -> set[str]:
    """Gold party names mapped to the dictionary's canonical actors where it knows them."""
    canonical = set()
    keys = {key.lower(): key for key in actors.aliases}
    for name in names:
        if name.lower() in keys:
            canonical.add(keys[name.lower()])
            continue
        mentions = actors.mentions(name)
        canonical.add(mentions[0].actor if mentions else name)
    return canonical


def read_as_predict_does(folder, articles: Sequence[GoldArticle], max_bytes: int) -> list:
    """The gold articles as `stance predict` reads `articles.jsonl` (its record reader), so the
    evaluation sees exactly the text and metadata a user's run would.

    Raises:
        DataError: the reader skips an article or reads a different text than the gold offsets
            index (the offsets would then be meaningless).
    """
    from pipeline.articles import InputProblem, iter_documents
    from pipeline.errors import DataError
    from pipeline.gold_articles import ARTICLES_FILE

    read = {}
    for item in iter_documents([str(Path(folder) / ARTICLES_FILE)], max_bytes):
        if isinstance(item, InputProblem):
            raise DataError(f"{item.input}:{item.line}: {item.reason}")
        read[item.doc_id] = item
    documents = []
    for article in articles:
        document = read.get(article.id)
        if document is None or document.text != article.text:
            raise DataError(
                f"{folder}: article {article.id!r} reads differently through the predict reader"
            )
        documents.append(document)
    return documents


def article_passages(
    documents: Sequence[Document], options: SegmentOptions, actors: ActorDictionary
) -> list[list[Passage]]:
    """The product's passages (with holders and targets) for each article."""
    return [document_passages(document, options, actors) for document in documents]


def match_passages(
    articles: Sequence[GoldArticle],
    rows: Sequence[Sequence[dict]],
    actors: ActorDictionary,
) -> tuple[list[MatchedPassage], list[GoldCounts]]:
    """Match scored passage rows to gold sentences, article by article."""
    matched, counts = [], []
    for index, (article, article_rows) in enumerate(zip(articles, rows, strict=True)):
        found_sentences: set[int] = set()
        for row in article_rows:
            overlapping = _overlapping(row["start"], row["end"], article.sentences)
            predicted_stance = row["label"] != "none"
            targets: tuple[str, ...] = ()
            if any(s.ambiguous for _, s in overlapping):
                gold, holders = None, ()
            else:
                stances = [(shared, s) for shared, s in overlapping if s.is_stance]
                if stances:
                    best = max(stances, key=lambda item: item[0])[1]
                    gold, holders, targets = best.label, best.holders, best.targets
                    if predicted_stance:
                        found_sentences.update(id(s) for _, s in stances)
                else:
                    gold, holders = "none", ()
            matched.append(
                MatchedPassage(
                    index,
                    row["label"],
                    1.0 - float(row["p_none"]),
                    row["holder"],
                    gold,
                    tuple(canonical_names(holders, actors)),
                    row.get("target", ""),
                    tuple(canonical_names(targets, actors)),
                )
            )
        clear = [s for s in article.sentences if not s.ambiguous]
        stance = [s for s in clear if s.is_stance]
        counts.append(
            GoldCounts(
                stance=len(stance),
                none=len(clear) - len(stance),
                found=sum(1 for s in stance if id(s) in found_sentences),
            )
        )
    return matched, counts


COUNT_FIELDS = (
    "called",  # predicted stance passages (not left out)
    "true_calls",  # ... whose gold is a stance
    "label_right",  # ... with the right stance label
    "holder_right",  # ... with a right holder
    "gold_stance",  # unambiguous gold stance sentences
    "found",  # ... covered by a predicted stance passage
    "gold_none",  # unambiguous gold none sentences
    "left_out",  # passages touching an ambiguous gold sentence
    "targeted",  # true stance calls whose gold sentence names a target
    "target_right",  # ... with a right target
)


def article_counts(matched: Sequence[MatchedPassage], counts: Sequence[GoldCounts]) -> np.ndarray:
    """One row of COUNT_FIELDS per article: every figure is a ratio of column sums, so a
    bootstrap over articles is a sum over resampled rows."""
    table = np.zeros((len(counts), len(COUNT_FIELDS)), dtype=np.int64)
    for m in matched:
        row = table[m.article]
        if m.gold is None:
            row[7] += 1
        elif m.predicted != "none":
            row[0] += 1
            if m.gold != "none":
                row[1] += 1
                row[2] += m.predicted == m.gold
                row[3] += m.holder in m.gold_holders
                if m.gold_targets:
                    row[8] += 1
                    row[9] += m.target in m.gold_targets
    for index, c in enumerate(counts):
        table[index, 4:7] = (c.stance, c.found, c.none)
    return table


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else None


def figures_from_counts(totals: np.ndarray, n_articles: int) -> dict:
    """The article-level figures from column sums of `article_counts`."""
    (
        called,
        true_calls,
        label_right,
        holder_right,
        gold_stance,
        found,
        gold_none,
        left_out,
        targeted,
        target_right,
    ) = (int(v) for v in totals)
    precision, recall = _ratio(true_calls, called), _ratio(found, gold_stance)
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    false_calls = called - true_calls
    per_100 = _ratio(100.0 * false_calls, gold_none)
    return {
        "stance_precision": precision,
        "stance_recall": recall,
        "stance_f1": f1,
        "label_accuracy": _ratio(label_right, true_calls),
        "holder_accuracy": _ratio(holder_right, true_calls),
        "target_accuracy": _ratio(target_right, targeted),
        "false_calls_per_100_none": per_100,
        "n_articles": n_articles,
        "n_predicted_stance": called,
        "n_true_stance_calls": true_calls,
        "n_false_stance_calls": false_calls,
        "n_gold_stance": gold_stance,
        "n_gold_stance_found": found,
        "n_gold_none": gold_none,
        "n_passages_left_out": left_out,
        "n_true_stance_calls_with_gold_target": targeted,
    }


INTERVAL_KEYS = (
    "stance_precision",
    "stance_recall",
    "stance_f1",
    "label_accuracy",
    "holder_accuracy",
    "target_accuracy",
    "false_calls_per_100_none",
)


def figures_with_intervals(
    table: np.ndarray, article_indices: Sequence[int], samples: int, seed: int
) -> dict:
    """Figures over the given articles (rows of `article_counts`), with 95% percentile
    bootstrap intervals over articles."""
    rows = table[np.asarray(article_indices, dtype=int)]
    figures = figures_from_counts(rows.sum(axis=0), len(rows))
    draws: dict[str, list[float]] = {key: [] for key in INTERVAL_KEYS}
    if len(rows):
        picks = np.random.default_rng(seed).integers(0, len(rows), size=(samples, len(rows)))
        for totals in rows[picks].sum(axis=1):
            sample = figures_from_counts(totals, len(rows))
            for key in INTERVAL_KEYS:
                if sample[key] is not None:
                    draws[key].append(sample[key])
    figures["ci95"] = {
        key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v else None
        for key, v in draws.items()
    }
    return figures


def evaluate_on_articles(
    models: dict[str, object],
    articles: Sequence[GoldArticle],
    documents: Sequence[Document],
    options: SegmentOptions,
    actors: ActorDictionary,
    samples: int = 1000,
    seed: int = 13,
) -> tuple[dict, dict[str, list[MatchedPassage]]]:
    """Score the articles end to end with each model; figures overall and by article group.

    Returns:
        ({model: {group: figures}}, {model: matched passages}) where groups are `all`, each
        article `group`, and `passing+unrelated` (articles where no sentence should be a stance
        about conflict talks).
    """
    passages = article_passages(documents, options, actors)
    groups: dict[str, list[int]] = {ALL: list(range(len(articles)))}
    for index, article in enumerate(articles):
        groups.setdefault(article.group or "(no group)", []).append(index)
    quiet = [i for i, a in enumerate(articles) if a.group in NO_STANCE_GROUPS]
    if quiet:
        groups["+".join(NO_STANCE_GROUPS)] = quiet
    results, all_matched = {}, {}
    for name, model in models.items():
        rows = [score_passages(model, article, actors) for article in passages]
        matched, counts = match_passages(articles, rows, actors)
        table = article_counts(matched, counts)
        results[name] = {
            group: figures_with_intervals(table, indices, samples, seed)
            for group, indices in groups.items()
        }
        all_matched[name] = matched
    return results, all_matched


def precision_recall_points(matched: Sequence[MatchedPassage]) -> dict:
    """Passage-level stance-vs-none precision and recall at every threshold on 1 - p(none)."""
    from sklearn.metrics import precision_recall_curve

    kept = [m for m in matched if m.gold is not None]
    gold = np.asarray([m.gold != "none" for m in kept], dtype=int)
    scores = np.asarray([m.stance_score for m in kept])
    if gold.sum() == 0 or len(gold) == 0:
        return {"precision": [], "recall": [], "thresholds": []}
    precision, recall, thresholds = precision_recall_curve(gold, scores)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "thresholds": thresholds.tolist(),
    }


def plot_precision_recall(
    curves: dict[str, dict], operating: dict[str, tuple[float, float]], path
) -> None:
    """One precision-recall curve per model, with each model's operating point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 5))
    for name, curve in curves.items():
        if curve["precision"]:
            line = axes.plot(curve["recall"], curve["precision"], label=name)[0]
            if name in operating and None not in operating[name]:
                recall, precision = operating[name]
                axes.plot([recall], [precision], "o", color=line.get_color())
    axes.set_xlabel("stance recall (passages)")
    axes.set_ylabel("stance precision (passages)")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.set_title("Stance vs none on gold articles (dots: operating points)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
