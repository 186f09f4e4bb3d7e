"""The analyst's view: predictions as pandas tables, a matplotlib timeline, and one HTML file.

`write_report` builds a self-contained page (inline CSS, JavaScript and SVG; no network) from the
outputs of `stance predict`. All article text reaches the page as JSON inside a
`<script type="application/json">` element, with `<`, `>` and `&` escaped, and the page's
JavaScript inserts it with `textContent` only, so markup in an article is shown, never run.
Large runs stay usable: the stance passages are embedded in compact columns, full article text
only for the first `max_full_articles` articles, and every list is paginated.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError
from pipeline.labels import LABELS, STANCE_LABELS
from pipeline.prediction.rows import (
    ACTOR_SCHEMA,
    ARTICLE_SCHEMA,
    DOCUMENT_FIELDS,
    PASSAGE_SCHEMA,
    OutputPaths,
    read_manifest,
    read_table,
)
from pipeline.summaries import month_of

log = logging.getLogger(__name__)
# The timeline leaves out a stretch of months more than ten years from the rest, when it holds
# under OUTLYING_SHARE of the dated stance passages (one article dated 1900 would otherwise
# stretch a 2024 timeline over 125 years; a few 2024 articles beside 2001-2018 stay).
TIMELINE_GAP_MONTHS = 120
OUTLYING_SHARE = 0.05
# The holder -> target table lists the pairs with the most stories (OUT.dyads.csv has them all,
# per month).
REPORT_DYADS = 30

LABEL_COLOURS = {
    "accept": "#1a9850",
    "reject": "#d73027",
    "conditional": "#e69f00",
    "none": "#9e9e9e",
}


@dataclass
class Predictions:
    """The outputs of one `stance predict` run, as DataFrames."""

    passages: pd.DataFrame
    articles: pd.DataFrame
    actors: pd.DataFrame
    manifest: dict


def load_predictions(path: str | Path) -> Predictions:
    """Read OUT and the files `stance predict` wrote beside it.

    Raises:
        PipelineError: a file is missing or damaged (names it).
    """
    paths = OutputPaths.for_output(path)
    for required in (paths.passages, paths.articles, paths.actors, paths.manifest):
        if not required.is_file():
            raise PipelineError(f"{required}: not found; is {path} the output of stance predict?")
    passages = read_table(paths.passages, PASSAGE_SCHEMA.names)
    passages["date"] = passages["date"].fillna("").astype(str)
    articles = read_table(paths.articles, ARTICLE_SCHEMA.names)
    text_columns = list(DOCUMENT_FIELDS)
    articles[text_columns] = articles[text_columns].fillna("").astype(str)
    return Predictions(
        passages=passages,
        articles=articles,
        actors=read_table(paths.actors, ACTOR_SCHEMA.names),
        manifest=read_manifest(paths.manifest),
    )


def actor_table(predictions: Predictions) -> pd.DataFrame:
    """Per actor: stance passage counts per label, total, first and last month with a stance."""
    stance = predictions.passages[predictions.passages["label"].isin(STANCE_LABELS)].copy()
    stance["month"] = stance["date"].map(month_of)
    counts = stance.pivot_table(
        index="holder", columns="label", values="passage_id", aggfunc="count", fill_value=0
    )
    counts = counts.reindex(columns=list(STANCE_LABELS), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    dated = stance[stance["month"] != "unknown"].groupby("holder")["month"]
    counts["first_month"] = dated.min()
    counts["last_month"] = dated.max()
    return counts.sort_values("total", ascending=False).rename_axis("actor").reset_index()


def dyad_table(predictions: Predictions, top: int | None = None) -> pd.DataFrame:
    """Per holder -> target pair: stories per label (`stories_<label>`) and in all (`stories`),
    then stance passage counts per label and in all (`total`); most stories first, then most
    passages (ties by name). A wire story counts once however many outlets printed it, as in
    OUT.dyads.csv; stance passages without a target are left out."""
    story_columns = [f"stories_{label}" for label in STANCE_LABELS]
    columns = ["holder", "target", *story_columns, "stories", *STANCE_LABELS, "total"]
    passages = predictions.passages
    stance = passages[passages["label"].isin(STANCE_LABELS) & (passages["target"] != "")]
    stance = stance.dropna(subset=["target"])
    if stance.empty:
        return pd.DataFrame(columns=columns)
    stance = stance.assign(story=passage_stories(predictions.articles, stance))
    pair = ["holder", "target"]
    counts = stance.pivot_table(
        index=pair, columns="label", values="passage_id", aggfunc="count", fill_value=0
    )
    counts = counts.reindex(columns=list(STANCE_LABELS), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    stories = stance.pivot_table(
        index=pair, columns="label", values="story", aggfunc="nunique", fill_value=0
    )
    stories = stories.reindex(columns=list(STANCE_LABELS), fill_value=0)
    counts[story_columns] = stories.reindex(counts.index).to_numpy()
    counts["stories"] = stance.groupby(pair)["story"].nunique()
    counts = counts.reset_index().sort_values(
        ["stories", "total", "holder", "target"], ascending=[False, False, True, True]
    )
    return counts[columns].head(top) if top else counts[columns]


def passage_stories(articles: pd.DataFrame, passages: pd.DataFrame) -> pd.Series:
    """The story of each passage's article (`story_id`), or the article itself where it has
    none (an output written before deduplication)."""
    doc_ids = articles["doc_id"].astype(str)
    story_ids = articles["story_id"].where(articles["story_id"].fillna("") != "", doc_ids)
    story_of = dict(zip(doc_ids, story_ids.astype(str), strict=True))
    own = passages["doc_id"].astype(str)
    return own.map(story_of).fillna(own)


def timeline_frame(predictions: Predictions, metric: str = "count") -> pd.DataFrame:
    """Month x actor table: stance passages per month (`count`) or mean p_<label>."""
    # Real months only: not "unknown", nor a month 13 in an older actors table.
    table = predictions.actors[predictions.actors["month"].astype(str).map(month_of) != "unknown"]
    if metric == "count":
        values = table[[f"n_{label}" for label in STANCE_LABELS]].sum(axis=1)
    elif metric in LABELS:
        values = table[f"mean_p_{metric}"]
    else:
        raise PipelineError(f"unknown timeline metric {metric!r} (count or a label)")
    frame = table.assign(value=values).pivot_table(
        index="month", columns="actor", values="value", aggfunc="sum"
    )
    return frame.sort_index()


def timeline_figure(predictions: Predictions, metric: str = "count", top: int = 8):
    """A matplotlib Figure: one line per actor (the `top` actors by stance passages)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = timeline_frame(predictions, metric)
    keep = actor_table(predictions)["actor"].head(top).tolist()
    frame = frame[[actor for actor in keep if actor in frame.columns]]
    figure, axes = plt.subplots(figsize=(10, 4.5))
    if not frame.empty:
        frame.index = pd.PeriodIndex(frame.index, freq="M").to_timestamp()
        frame.plot(ax=axes, marker="o", linewidth=1.5)
    axes.set_ylabel("stance passages per month" if metric == "count" else f"mean p({metric})")
    axes.set_xlabel("month")
    axes.set_title("Stance toward talks per actor")
    axes.legend(loc="upper left", fontsize="small", frameon=False)
    figure.tight_layout()
    return figure


def _json_for_script(data) -> str:
    """JSON that cannot end its <script> element or open a comment, whatever the text holds."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7])


def timeline_months(dates: pd.Series) -> tuple[list[str], list[str]]:
    """The months of the timeline, and notes on the dates it leaves out.

    Dates that are not real dates (2024-13-45) are left out and named. So is a stretch of
    months more than `TIMELINE_GAP_MONTHS` away from the rest that holds fewer than
    `OUTLYING_SHARE` of the dated passages (an article dated 1900 in a 2024 collection).
    The axis is continuous between the first and last month kept, so gaps in time show.
    """
    notes = []
    dates = dates.fillna("").astype(str)
    given = dates[dates.str.strip() != ""]
    impossible = given[given.map(month_of) == "unknown"]
    if len(impossible):
        examples = ", ".join(sorted(set(impossible))[:5])
        notes.append(
            f"{len(impossible)} passage(s) with a date that is not a real date ({examples})"
        )
    counts = given.map(month_of).value_counts().drop("unknown", errors="ignore").sort_index()
    if counts.empty:
        return [], notes
    stretches, current = [], [counts.index[0]]
    for previous, month in zip(counts.index[:-1], counts.index[1:], strict=True):
        if _month_number(month) - _month_number(previous) > TIMELINE_GAP_MONTHS:
            stretches.append(current)
            current = []
        current.append(month)
    stretches.append(current)
    total = counts.sum()
    kept = [s for s in stretches if counts[s].sum() >= OUTLYING_SHARE * total] or stretches
    for stretch in stretches:
        if stretch not in kept:
            notes.append(
                f"{counts[stretch].sum()} passage(s) dated {stretch[0]}"
                + (f" to {stretch[-1]}" if len(stretch) > 1 else "")
                + f", more than {TIMELINE_GAP_MONTHS // 12} years from the rest"
            )
    first, last = kept[0][0], kept[-1][-1]
    return [str(p) for p in pd.period_range(first, last, freq="M")], notes


def report_data(
    predictions: Predictions, max_full_articles: int = 200, max_stance_passages: int = 200_000
) -> dict:
    """The compact JSON the page renders: documents, stance passages as columns, contexts."""
    passages = predictions.passages
    articles = predictions.articles.reset_index(drop=True)
    doc_index = {doc: i for i, doc in enumerate(articles["doc_id"].astype(str))}
    stance = passages[passages["label"].isin(STANCE_LABELS)]
    if len(stance) > max_stance_passages:
        stance = stance.nlargest(max_stance_passages, "confidence").sort_index()
    actors = sorted(set(stance["holder"]))
    months, timeline_notes = timeline_months(stance["date"])
    actor_index = {a: i for i, a in enumerate(actors)}
    month_index = {m: i for i, m in enumerate(months)}
    columns = {
        "doc": [doc_index.get(str(d), -1) for d in stance["doc_id"]],
        "pid": stance["passage_id"].astype(str).tolist(),
        "label": [LABELS.index(x) for x in stance["label"]],
        "conf": stance["confidence"].round(3).tolist(),
        "p": stance[[f"p_{label}" for label in LABELS]].round(3).values.tolist(),
        "holder": [actor_index[h] for h in stance["holder"]],
        "month": [month_index.get(month_of(d), -1) for d in stance["date"]],
        "text": stance["text"].astype(str).tolist(),
    }
    full = {}
    for doc_id, group in passages.groupby("doc_id", sort=False):
        index = doc_index.get(str(doc_id))
        if index is None or index >= max_full_articles:
            continue
        full[index] = [
            [str(r.passage_id), str(r.text), LABELS.index(r.label)] for r in group.itertuples()
        ]
    documents = [
        {
            "id": str(row.doc_id),
            "title": str(row.title or ""),
            "date": str(row.date or ""),
            "source": str(row.source or ""),
            "url": str(row.url or ""),
            "n": [int(getattr(row, f"n_{label}")) for label in LABELS],
            **story_record(row),
        }
        for row in articles.itertuples()
    ]
    manifest = predictions.manifest
    return {
        "labels": list(LABELS),
        "colours": LABEL_COLOURS,
        "actors": actors,
        "dyads": [
            {
                "holder": str(row["holder"]),
                "target": str(row["target"]),
                "stories": [int(row[f"stories_{label}"]) for label in STANCE_LABELS],
                "n_stories": int(row["stories"]),
                "n": [int(row[label]) for label in STANCE_LABELS],
                "total": int(row["total"]),
            }
            for row in dyad_table(predictions, top=REPORT_DYADS).to_dict("records")
        ],
        "months": months,
        "documents": documents,
        "stance": columns,
        "full": full,
        "overview": {
            "articles": len(articles),
            "passages": int(len(passages)),
            "labels": {label: int((passages["label"] == label).sum()) for label in LABELS},
            "embedded_stance_passages": len(stance),
            "full_text_articles": len(full),
            "timeline_note": (
                "Left out of the timeline (still listed below): " + "; ".join(timeline_notes) + "."
                if timeline_notes
                else ""
            ),
        },
        "manifest": {
            "finished": manifest.get("finished"),
            "engine": manifest.get("engine"),
            "model": manifest.get("model", {}).get("folder"),
            "model_sha256": manifest.get("model", {}).get("sha256"),
            "base_model": base_model_name(manifest.get("model", {}).get("base_model")),
            "predict_config": manifest.get("config", {}).get("predict"),
            "inputs": manifest.get("inputs"),
            "errors": manifest.get("counts", {}).get("errors"),
        },
    }


def base_model_name(base_model) -> str | None:
    """The base model's name from a model's meta: a record with a `name`, or the name itself
    (model folders that record only the name)."""
    return base_model.get("name") if isinstance(base_model, dict) else base_model


def story_record(row) -> dict:
    """An article's story for the page: its id, how many articles print it, their outlets."""
    try:
        outlets = json.loads(row.story_outlets) if isinstance(row.story_outlets, str) else []
    except json.JSONDecodeError:
        outlets = []
    size = pd.to_numeric(row.story_size, errors="coerce")
    return {
        "story": "" if pd.isna(row.story_id) else str(row.story_id),
        "copies": 1 if pd.isna(size) else int(size),
        "outlets": [str(outlet) for outlet in outlets if outlet is not None],
    }


def render_html(data: dict, title: str = "Stance toward talks") -> str:
    """The page: template + inline CSS/JS + the data as escaped JSON."""
    template = resources.files("pipeline").joinpath("report_template.html").read_text("utf-8")
    return template.replace("__TITLE__", html.escape(title)).replace(
        "__DATA__", _json_for_script(data)
    )


def write_report(
    predictions_path: str | Path,
    output: str | Path,
    max_full_articles: int = 200,
    title: str | None = None,
) -> Path:
    """Write the self-contained HTML report for a `stance predict` output; return its path.

    Raises:
        PipelineError: a predict file is missing, or `output` is one of the files the report
            reads (writing the page there would destroy the predictions).
    """
    from pipeline.inputs import resolve_inputs
    from pipeline.outputs import atomic_path

    predictions = load_predictions(predictions_path)
    paths = OutputPaths.for_output(predictions_path)
    read = [paths.passages, paths.articles, paths.actors, paths.manifest]
    resolve_inputs([str(path) for path in read], [output])
    data = report_data(predictions, max_full_articles=max_full_articles)
    if data["overview"]["timeline_note"]:
        log.warning("%s: %s", predictions_path, data["overview"]["timeline_note"])
    page = render_html(data, title or f"Stance toward talks: {Path(predictions_path).name}")
    output = Path(output)
    with atomic_path(output) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return output
