"""Wire copies: near-identical articles share a story; the actor table counts stories."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from conftest import REPO
from fakes import interrupt_scoring_at_batch

from pipeline.config import DedupConfig, PredictConfig
from pipeline.dedup import StoryIndex, article_signatures, outlet_of
from pipeline.inference import predict
from pipeline.summaries import ActorMonthTable, CountedKeys, DyadMonthTable

SYLLABLES = "ka ro mi to na le sa bu di go ha ji ku ma ne pa ri su ta vo wa ya ze lo".split()
STANCE = "Hamas refused any talks with Israel."


def made_up_words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(n)]


def story_text(rng: random.Random, sentences: int = 25) -> str:
    """A made-up article: sentences of made-up words, distinct from any other such text."""
    return " ".join(
        " ".join(made_up_words(rng, rng.randint(9, 14))).capitalize() + "."
        for _ in range(sentences)
    )


def light_copy(rng: random.Random, text: str, outlet: str) -> str:
    """What an outlet prints of a wire story: two words changed, its own headline and
    dateline before it, its footer after it, the last sentence cut."""
    words = text.rsplit(".", 2)[0].split(" ")
    for _ in range(2):
        words[rng.randrange(10, len(words))] = made_up_words(rng, 1)[0]
    return (
        f"Another headline for {outlet}. GENEVA ({outlet}) - {' '.join(words)}. "
        f"Copyright {outlet}, all rights reserved."
    )


def planted_collection(seed: int = 3) -> tuple[list[dict], dict[str, str]]:
    """Four stories, each printed by the wire and three other outlets, shuffled; returns the
    documents and each document's planted story."""
    rng = random.Random(seed)
    documents, planted = [], {}
    for story in range(4):
        original = story_text(rng)
        documents.append(
            {"doc_id": f"s{story}-wire", "url": "https://wire.example/a", "text": original}
        )
        for copy in range(3):
            outlet = f"outlet{copy}.example"
            documents.append(
                {
                    "doc_id": f"s{story}-{outlet}",
                    "url": f"https://www.{outlet}/news/{story}",
                    "text": light_copy(rng, original, outlet),
                }
            )
    rng.shuffle(documents)
    for document in documents:
        planted[document["doc_id"]] = document["doc_id"].split("-")[0]
    return documents, planted


def assign_stories(documents: list[dict], tmp_path, threshold: float = 0.7) -> dict:
    """doc_id -> Story, assigned as `stance predict` does, in the order given."""
    index = StoryIndex(tmp_path / "stories.sqlite", threshold)
    try:
        index.add(documents, article_signatures([d["text"] for d in documents]))
        return index.stories(documents)
    finally:
        index.close()


def test_planted_copies_share_a_story_and_distinct_stories_do_not(tmp_path):
    documents, planted = planted_collection()
    stories = assign_stories(documents, tmp_path)
    groups = {}
    for doc_id, story in stories.items():
        groups.setdefault(story.story_id, set()).add(planted[doc_id])
    assert len(groups) == 4 and all(len(group) == 1 for group in groups.values())
    for document in documents:
        story = stories[document["doc_id"]]
        first = next(d for d in documents if planted[d["doc_id"]] == planted[document["doc_id"]])
        assert story.story_id == first["doc_id"]  # named after its first copy in input order
        assert story.size == 4
        assert story.outlets[0] == outlet_of(first)
        assert sorted(story.outlets) == sorted(
            ["wire.example", "outlet0.example", "outlet1.example", "outlet2.example"]
        )


def test_stories_are_the_same_on_every_run_and_follow_the_input_order(tmp_path):
    documents, _ = planted_collection()
    first = assign_stories(documents, tmp_path)
    assert assign_stories(documents, tmp_path) == first
    reversed_order = assign_stories(documents[::-1], tmp_path)
    clusters = lambda stories: sorted(  # noqa: E731
        sorted(d for d, s in stories.items() if s.story_id == story)
        for story in {s.story_id for s in stories.values()}
    )
    assert clusters(reversed_order) == clusters(first)
    last = documents[-1]["doc_id"]
    assert reversed_order[last].story_id == last  # the first copy in the new order names it


def test_the_threshold_is_honoured(tmp_path):
    rng = random.Random(5)
    original = " ".join(made_up_words(rng, 300))
    # Cut to 80% of its words, the copy shares about 80% of the original's shingles.
    cut = " ".join(original.split()[:240])
    documents = [{"doc_id": "wire", "text": original}, {"doc_id": "cut", "text": cut}]
    assert assign_stories(documents, tmp_path, threshold=0.7)["cut"].story_id == "wire"
    assert assign_stories(documents, tmp_path, threshold=0.9)["cut"].story_id == "cut"


def test_outlet_is_the_url_host_else_the_source_else_the_input_folder():
    assert outlet_of({"url": "https://www.reuters.com/world/x", "source": "Reuters"}) == (
        "reuters.com"
    )
    assert outlet_of({"url": "", "source": "apnews.com", "input": "/data/ap/1.txt"}) == "apnews.com"
    assert outlet_of({"url": "", "source": "", "input": "/data/guardian/1.txt"}) == "guardian"


def test_actor_table_counts_a_story_once_with_passage_counts_beside_it():
    def row(doc_id, story_id, story_size, label="reject"):
        return {
            "doc_id": doc_id,
            "holder": "Hamas",
            "date": "2024-03-01",
            "label": label,
            "story_id": story_id,
            "story_size": story_size,
            **{f"p_{name}": 0.25 for name in ("accept", "reject", "conditional", "none")},
        }

    table = ActorMonthTable()
    # One wire story printed three times (its copies arrive in different calls, as shards do),
    # each copy with two reject passages; and one article of its own.
    table.add([row("a", "a", 3), row("a", "a", 3)])
    table.add([row("b", "a", 3), row("b", "a", 3), row("own", "own", 1)])
    table.add([row("c", "a", 3), row("c", "a", 3), row("c", "a", 3, label="none")])
    (record,) = table.records()
    assert record["n_stories"] == 2 and record["n_stories_reject"] == 2
    assert record["n_stories_none"] == 1
    assert record["n_passages"] == 8 and record["n_reject"] == 7 and record["n_none"] == 1


def test_dyad_table_counts_a_story_once_and_apart_from_the_actor_table():
    def row(doc_id, story_id, story_size, label="reject", target="Israel"):
        return {
            "doc_id": doc_id,
            "holder": "Hamas",
            "target": target,
            "date": "2024-03-01",
            "label": label,
            "story_id": story_id,
            "story_size": story_size,
            **{f"p_{name}": 0.25 for name in ("accept", "reject", "conditional", "none")},
        }

    # Both tables share one store of counted stories, as `stance predict` has them share its
    # StoryIndex: the actor table counting a story must not keep the dyad table from counting it.
    counted = CountedKeys()
    actors, dyads = ActorMonthTable(counted=counted), DyadMonthTable(counted=counted)
    # One wire story printed three times, its copies in different calls (as shards are), each
    # with two reject passages toward Israel; an article of its own; a passage without a target.
    for rows in (
        [row("a", "a", 3), row("a", "a", 3)],
        [row("b", "a", 3), row("b", "a", 3), row("own", "own", 1, label="accept")],
        [row("c", "a", 3), row("c", "a", 3), row("c", "a", 3, target="")],
    ):
        actors.add(rows)
        dyads.add(rows)
    assert dyads.records() == [
        {"holder": "Hamas", "target": "Israel", "month": "2024-03", "n_stories": 2,
         "n_stories_accept": 1, "n_stories_reject": 1, "n_stories_conditional": 0,
         "n_passages": 7, "n_accept": 1, "n_reject": 6, "n_conditional": 0},
    ]  # fmt: skip
    (actor,) = actors.records()
    assert (actor["n_stories"], actor["n_stories_reject"], actor["n_reject"]) == (2, 1, 7)


def wire_records(seed: int = 11) -> list[dict]:
    """One wire story with a stance, printed by three outlets, and another story with the same
    stance sentence; as JSON Lines records."""
    rng = random.Random(seed)
    wire = f"{STANCE} {story_text(rng)}"
    records = [
        {"id": "wire", "text": wire, "url": "https://wire.example/1"},
        {
            "id": "copy1",
            "text": light_copy(rng, wire, "one.example"),
            "url": "https://one.example/1",
        },
        {"id": "copy2", "text": light_copy(rng, wire, "two.example"), "source": "two.example"},
        {"id": "other", "text": f"{STANCE} {story_text(rng)}", "url": "https://three.example/9"},
    ]
    return [{**r, "date": "2024-03-01", "language": "en"} for r in records]


def run_predict(model_dir, tmp_path, name="p.jsonl", records=None, **overrides):
    inputs = tmp_path / "in" / "news.jsonl"
    inputs.parent.mkdir(exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records or wire_records())
    if not inputs.is_file() or inputs.read_text() != text:  # a rewrite would be a new input
        inputs.write_text(text)
    options = PredictConfig(
        actors=str(REPO / "configs/actors.yaml"), documents_per_shard=1, **overrides
    )
    out = tmp_path / "out" / name
    manifest = predict(str(model_dir), [str(inputs)], out, options, device="cpu", progress=False)
    articles = [json.loads(line) for line in out.with_suffix(".articles.jsonl").open()]
    actors = pd.read_csv(out.with_suffix(".actors.csv"))
    return manifest, articles, actors


def test_predict_gives_each_article_its_story_and_counts_the_story_once(fake_model, tmp_path):
    manifest, articles, actors = run_predict(fake_model, tmp_path)
    by_id = {a["doc_id"]: a for a in articles}
    for doc_id in ("wire", "copy1", "copy2"):
        assert by_id[doc_id]["story_id"] == "wire" and by_id[doc_id]["story_size"] == 3
        assert json.loads(by_id[doc_id]["story_outlets"]) == [
            "wire.example",
            "one.example",
            "two.example",
        ]
    assert (by_id["other"]["story_id"], by_id["other"]["story_size"]) == ("other", 1)
    hamas = actors[(actors["actor"] == "Hamas") & (actors["month"] == "2024-03")].iloc[0]
    assert (hamas["n_stories_reject"], hamas["n_reject"]) == (2, 4)
    assert manifest["dedup"]["threshold"] == 0.7 and manifest["dedup"]["stories"] == 2
    assert manifest["counts"]["stories"] == 2


def test_dyads_and_the_report_count_a_wire_story_toward_its_target_once(fake_model, tmp_path):
    from pipeline.report import dyad_table, load_predictions, report_data

    run_predict(fake_model, tmp_path)
    out = tmp_path / "out" / "p.jsonl"
    dyads = pd.read_csv(out.with_suffix(".dyads.csv"), dtype={"month": str})
    assert dyads.to_dict("records") == [
        {"holder": "Hamas", "target": "Israel", "month": "2024-03", "n_stories": 2,
         "n_stories_accept": 0, "n_stories_reject": 2, "n_stories_conditional": 0,
         "n_passages": 4, "n_accept": 0, "n_reject": 4, "n_conditional": 0},
    ]  # fmt: skip
    predictions = load_predictions(out)
    assert dyad_table(predictions).to_dict("records") == [
        {"holder": "Hamas", "target": "Israel", "stories_accept": 0, "stories_reject": 2,
         "stories_conditional": 0, "stories": 2, "accept": 0, "reject": 4, "conditional": 0,
         "total": 4},
    ]  # fmt: skip
    assert report_data(predictions)["dyads"] == [
        {"holder": "Hamas", "target": "Israel", "stories": [0, 2, 0], "n_stories": 2,
         "n": [0, 4, 0], "total": 4},
    ]  # fmt: skip


def test_dedup_disabled_leaves_every_article_its_own_story(fake_model, tmp_path):
    manifest, articles, actors = run_predict(fake_model, tmp_path, dedup=DedupConfig(enabled=False))
    assert [(a["story_id"], a["story_size"]) for a in articles] == [
        (doc_id, 1) for doc_id in ("wire", "copy1", "copy2", "other")
    ]
    assert json.loads(articles[2]["story_outlets"]) == ["two.example"]
    hamas = actors[actors["actor"] == "Hamas"].iloc[0]
    assert (hamas["n_stories_reject"], hamas["n_reject"]) == (4, 4)
    assert manifest["dedup"] == {"enabled": False, "stories": 4}


def test_resumed_run_keeps_its_story_ids(fake_model, tmp_path, monkeypatch):
    _, reference, _ = run_predict(fake_model, tmp_path, name="reference.jsonl")

    resume_scoring = interrupt_scoring_at_batch(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        run_predict(fake_model, tmp_path)
    parts = tmp_path / "out" / "p.parts"
    assert sorted(p.name for p in parts.glob("shard-*.minhash.npy"))[:2] == [
        "shard-000000.minhash.npy",
        "shard-000001.minhash.npy",
    ]
    resume_scoring()
    manifest, resumed, _ = run_predict(fake_model, tmp_path)
    assert manifest["resumed_shards"] == 2
    assert [(a["doc_id"], a["story_id"], a["story_size"]) for a in resumed] == [
        (a["doc_id"], a["story_id"], a["story_size"]) for a in reference
    ]
    # The story counts of the actor and dyad tables too: both are rebuilt from every shard.
    for table in ("actors.csv", "dyads.csv"):
        uninterrupted = (tmp_path / "out" / f"reference.{table}").read_text()
        assert (tmp_path / "out" / f"p.{table}").read_text() == uninterrupted


def test_report_shows_the_outlets_of_a_story_as_text(fake_model, tmp_path):
    from pipeline.report import load_predictions, report_data, write_report

    records = wire_records()
    records[2]["source"] = "<img src=x onerror=alert(1)>"
    run_predict(fake_model, tmp_path, records=records)
    out = tmp_path / "out" / "p.jsonl"
    documents = report_data(load_predictions(out))["documents"]
    assert documents[0]["copies"] == 3
    assert documents[0]["outlets"] == [
        "wire.example",
        "one.example",
        "<img src=x onerror=alert(1)>",
    ]
    page = write_report(out, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page


def dedup_benchmark(monkeypatch):
    """benchmarks/dedup.py as a module (it imports templated_news.py beside it)."""
    import importlib.util

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("dedup_benchmark", REPO / "benchmarks/dedup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_templated_stories_differ_in_names_and_numbers_and_copies_are_recorded(
    tmp_path, monkeypatch
):
    import re

    benchmark = dedup_benchmark(monkeypatch)
    from templated_news import TEMPLATES  # beside the benchmark, importable once it is loaded

    collection = tmp_path / "news.jsonl"
    planted = benchmark.generate(collection, 800, templated_share=0.3)
    records = [json.loads(line) for line in collection.open()]
    templated = [r for r in records if r.get("part") == "templated"]
    stories = {r["id"]: r for r in templated if not r["edits"]}
    copies = [r for r in templated if r["edits"]]
    assert (planted["templated_stories"], planted["templated_copies"]) == (
        len(stories),
        len(copies),
    )
    by_template: dict[int, list[dict]] = {}
    for story in stories.values():
        by_template.setdefault(story["template"], []).append(story)
    assert sorted(by_template) == list(range(len(TEMPLATES)))
    for template, alike in by_template.items():
        family, _, sentences = TEMPLATES[template]
        fixed = [part for s in sentences for part in re.split(r"\{\w+\}", s) if len(part) > 12]
        fixed_words = set(" ".join(sentences).split())
        filled, numbers = set(), set()
        for story in alike:
            assert story["family"] == family and story["planted"] == story["id"]
            assert all(part in story["text"] for part in fixed)  # the template's own words
            filled.add(tuple(w for w in story["text"].split() if w not in fixed_words))
            numbers.add(tuple(re.findall(r"\d+", story["text"])))
        assert len(alike) > 1 and len(filled) == len(numbers) == len(alike)
    assert copies
    for copy in copies:  # a copy names the templated story it copies, and is not that story
        original = stories[copy["planted"]]
        assert (copy["family"], copy["template"]) == (original["family"], original["template"])
        assert copy["id"] != original["id"] and copy["text"] != original["text"]
        assert set(copy["edits"]) <= set(benchmark.EDITS)


def test_benchmark_draws_the_rest_of_the_collection_as_without_templated_stories(
    tmp_path, monkeypatch
):
    benchmark = dedup_benchmark(monkeypatch)
    benchmark.generate(tmp_path / "with.jsonl", 300, templated_share=0.3)
    benchmark.generate(tmp_path / "without.jsonl", 300, templated_share=0.0)
    read = lambda name: [json.loads(line) for line in (tmp_path / name).open()]  # noqa: E731
    rest = [r["text"] for r in read("with.jsonl") if "part" not in r]
    assert rest == [r["text"] for r in read("without.jsonl")][: len(rest)]


def test_benchmark_scores_templated_stories_and_the_rest_apart(tmp_path, monkeypatch):
    benchmark = dedup_benchmark(monkeypatch)
    collection, found = tmp_path / "news.jsonl", tmp_path / "found.tsv"
    records = [  # two distinct templated stories, one story of the rest and its copy
        {"id": "t1", "planted": "t1", "edits": [], "part": "templated", "family": "market"},
        {"id": "t2", "planted": "t2", "edits": [], "part": "templated", "family": "market"},
        {"id": "r1", "planted": "r1", "edits": []},
        {"id": "r2", "planted": "r1", "edits": ["headline"]},
    ]
    collection.write_text("".join(json.dumps(r) + "\n" for r in records))
    found.write_text("t1\tt1\nt2\tt1\nr1\tr1\nr2\tr1\n")  # the templated stories merged
    scores = benchmark.pair_scores(collection, found)
    templated, rest = scores["parts"]["templated"], scores["parts"]["rest"]
    assert (templated["precision"], templated["merged_stories"]) == (0.0, 2)
    assert (rest["precision"], rest["recall"], rest["merged_stories"]) == (1.0, 1.0, 0)
    assert scores["precision"] == 0.5 and scores["cross_part_pairs"] == 0
    assert scores["templated_merged_by_family"]["market"] == (2, 2)
