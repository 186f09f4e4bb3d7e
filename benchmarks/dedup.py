"""Deduplication of wire copies: pair precision and recall, articles/s and peak memory.

Generates a synthetic news collection (JSON Lines in /tmp, kept for reruns) from word lists and
sentence templates with a seeded RNG: original stories, follow-up stories that reuse a few
background sentences of an earlier one (distinct stories that look alike), and syndicated
copies of originals printed by other outlets with light edits. A templated part
(`--templated-share` of the articles, drawn with its own RNG so the rest is drawn as before it
existed; `templated_news.py`) adds distinct stories filled in from one of a few templates
(market reports, sports results, weather bulletins, earnings releases: the same words, other
names and numbers) and planted copies of some of them. The edits of a copy:
  * `words`: one to five words changed;
  * `headline`: another headline, printed as the first line of the text;
  * `boilerplate`: the outlet's dateline before the text and its footer (credits, copyright,
    newsletter) after it;
  * `truncation`: the last 10-25% of the sentences cut off (of a templated story, its last
    sentence).
Each copy gets one or two of them. Then, each in a fresh process (so peak memory is its own):
  * the product: `stance predict`'s own dedup path (`with_signatures` per shard of 2000
    documents, `story_index`, story look-ups per shard), at `predict.dedup.threshold` or
    `--threshold`;
  * the naive reference: exact duplicates of the normalised text (one hash per article).
It prints pair precision and recall against the planted stories (a pair is two articles of one
story), overall and for the templated part and the rest apart, how many distinct stories were
merged with another, the recall per kind of edit, articles/s, peak RSS and the ratios.

    python benchmarks/dedup.py --articles 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from templated_news import FAMILIES, templated_story

REPO = Path(__file__).resolve().parent.parent
# The generator's version, in the cached collection's name: a changed generator must not reuse
# a collection an earlier one wrote.
GENERATOR_VERSION = 2
TEMPLATED_SHARE = 0.15  # of the articles, by default
TEMPLATED_COPY_SHARE = 0.35  # of the templated articles: planted copies of a recent one
PARTS = ("templated", "rest")

ACTORS = [
    "the government", "the rebels", "the opposition", "the army", "the foreign ministry",
    "the prime minister", "the president", "the union", "the militia", "the envoy",
    "the United Nations", "the European Union", "the African Union", "the council",
    "the coalition", "the interior ministry", "the mediators", "the delegation",
    "the armed group", "the separatists", "the governor", "the election commission",
]  # fmt: skip
PLACES = [
    "Geneva", "Doha", "Nairobi", "Bogota", "Kabul", "Addis Ababa", "Khartoum", "Juba", "Oslo",
    "Havana", "Tripoli", "Sanaa", "Baghdad", "Kinshasa", "Bamako", "Niamey", "Yangon", "Manila",
    "Istanbul", "Cairo", "Amman", "Beirut", "Kyiv", "Minsk", "Baku", "Yerevan", "Tbilisi",
    "Caracas", "Lima", "Quito", "Dhaka", "Colombo", "Mogadishu", "Abuja", "Maputo", "Harare",
]  # fmt: skip
ACTIONS = [
    "said it was ready to resume talks with", "rejected an offer of negotiations from",
    "called for a ceasefire with", "met officials from", "accused", "warned",
    "signed a preliminary agreement with", "walked out of a meeting with",
    "demanded the release of prisoners held by", "urged dialogue with",
    "set conditions for talks with", "held informal contacts with",
]  # fmt: skip
TOPICS = [
    "a ceasefire", "prisoner exchanges", "humanitarian access", "power sharing", "elections",
    "the withdrawal of troops", "disarmament", "the return of refugees", "border security",
    "oil revenues", "a new constitution", "transitional justice", "sanctions relief",
    "the release of detainees", "a monitoring mission", "land reform", "federalism",
]  # fmt: skip
SOURCES = [
    "a statement", "officials", "diplomats", "witnesses", "state television", "local media",
    "a senior official who asked not to be named", "the spokesperson", "aid workers",
]  # fmt: skip
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SYLLABLES = "ka ro mi to na le sa bu di go ha ji ku ma ne pa ri su ta vo wa ya ze lo fe bi".split()
TEMPLATES = [
    "{Actor} {action} {actor} in {place} on {day}, according to {source}.",
    "The talks, which began in {month}, were expected to focus on {topic} and {topic2}.",
    "{Name}, a spokesperson for {actor}, told reporters that {actor} would discuss {topic}.",
    "At least {num} people were killed in fighting near {place} last week, {source} said.",
    "{Name} said the {noun} would {verb} by {month} if {actor} agreed to {topic}.",
    "Previous rounds of negotiations in {place} collapsed in {month} over {topic}.",
    "{Actor} has long insisted that {topic} must come before any talk of {topic2}.",
    "{Name} {Name2}, who leads {actor}, arrived in {place} on {day} with {num} advisers.",
    "Analysts said the {noun} was a sign that {actor} was under pressure from {actor2}.",
    "The meeting in {place} was the first between the two sides since {month}.",
    "{Actor} said on {day} that it would not accept {topic} without guarantees on {topic2}.",
    "{Source} said {num} {noun}s had been prepared ahead of the session in {place}.",
]
NOUNS = [
    "proposal", "plan", "deal", "draft", "roadmap", "framework", "offer", "document", "truce",
    "declaration", "memorandum", "timetable", "committee", "report", "letter", "resolution",
]  # fmt: skip
VERBS = [
    "be signed", "take effect", "be published", "be reviewed", "expire", "be extended",
    "be put to a vote", "be presented", "be approved", "be discussed",
]  # fmt: skip
OUTLETS = [f"{name}.example" for name in (
    "dailywire", "globalpost", "morningherald", "eveningstar", "capitaltimes", "citynews",
    "worldreport", "thechronicle", "theobserver", "newsday", "thetribune", "thegazette",
    "theinquirer", "thecourier", "thesentinel", "thebulletin", "thedispatch", "theledger",
    "thepost", "theexpress", "thestandard", "thenation", "thetelegraph", "thejournal",
)]  # fmt: skip
EDITS = ("words", "headline", "boilerplate", "truncation")


def name(rng: random.Random) -> str:
    """A made-up person's name: enough variety that distinct stories name distinct people."""
    parts = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(2)]
    return " ".join(part.capitalize() for part in parts)


def sentence(rng: random.Random) -> str:
    """One news sentence from a template, its slots filled at random."""
    actor, actor2 = rng.sample(ACTORS, 2)
    topic, topic2 = rng.sample(TOPICS, 2)
    text = rng.choice(TEMPLATES).format(
        Actor=actor.capitalize(),
        actor=actor,
        actor2=actor2,
        action=rng.choice(ACTIONS),
        place=rng.choice(PLACES),
        day=rng.choice(DAYS),
        month=rng.choice(MONTHS),
        source=rng.choice(SOURCES),
        Source=rng.choice(SOURCES).capitalize(),
        topic=topic,
        topic2=topic2,
        Name=name(rng),
        Name2=name(rng),
        num=rng.randint(2, 400),
        noun=rng.choice(NOUNS),
        verb=rng.choice(VERBS),
    )
    return text[0].upper() + text[1:]


BRIEFS = [
    "{Actor} and {actor2} will hold a new round of talks in {place} on {day}, {source} said.",
    "The next session is scheduled for {day} in {place}, {source} said.",
    "{Actor} did not respond to a request for comment.",
    "{Actor} said the talks would continue on {day}.",
    "No date has been set for the signing of the {noun}, {source} said.",
]


def brief_sentence(rng: random.Random) -> str:
    """A sentence of a short news brief: stock phrasing that many distinct briefs share."""
    actor, actor2 = rng.sample(ACTORS, 2)
    return rng.choice(BRIEFS).format(
        Actor=actor.capitalize(),
        actor2=actor2,
        place=rng.choice(PLACES),
        day=rng.choice(DAYS),
        source=rng.choice(SOURCES),
        noun=rng.choice(NOUNS),
    )


def headline(rng: random.Random) -> str:
    return f"{rng.choice(ACTORS).capitalize()} {rng.choice(ACTIONS)} {rng.choice(ACTORS)}"


def edit_words(rng: random.Random, sentences: list[str]) -> list[str]:
    """One to five words changed, anywhere in the text."""
    words = " ".join(sentences).split(" ")
    vocabulary = [w for s in (PLACES, DAYS, MONTHS, NOUNS) for w in s]
    for _ in range(rng.randint(1, 5)):
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
    return [" ".join(words)]


def boilerplate(rng: random.Random, outlet: str) -> tuple[str, str]:
    """An outlet's dateline and footer: 10-35 words around the wire text."""
    dateline = (
        f"{rng.choice(PLACES).upper()}, {rng.choice(MONTHS)} {rng.randint(1, 28)} ({outlet}) -"
    )
    footer = rng.choice(
        [
            f"Reporting by {name(rng)}; additional reporting by {name(rng)}; editing by {name(rng)}.",
            f"Copyright {rng.randint(2015, 2025)} {outlet}. All rights reserved. This material "
            "may not be published, broadcast, rewritten or redistributed.",
            f"Sign up for the {outlet} newsletter to get the day's top stories in your inbox "
            "every morning. Follow us on social media for the latest updates.",
        ]
    )
    return dateline, footer


def cut_end(rng: random.Random, sentences: list[str]) -> list[str]:
    """The last 10-25% of the sentences cut, three kept at least."""
    keep = max(3, round(len(sentences) * (1 - rng.uniform(0.10, 0.25))))
    return sentences[:keep]


def cut_last_sentence(rng: random.Random, sentences: list[str]) -> list[str]:
    """The last sentence cut: the truncation of a story of 3-6 sentences (`cut_end` would keep
    a three-sentence story whole)."""
    return sentences[:-1]


def copy_of(
    rng: random.Random, original: dict, number: int, new_headline=headline, truncate=cut_end
) -> tuple[dict, list[str]]:
    """A syndicated copy of `original` by another outlet, with one or two light edits
    (`new_headline(rng)` gives its other headline, `truncate(rng, sentences)` cuts its end)."""
    outlet = rng.choice(OUTLETS)
    edits = sorted(rng.sample(EDITS, rng.choice((1, 1, 2))))
    sentences = list(original["sentences"])
    title = original["title"]
    if "truncation" in edits:
        sentences = truncate(rng, sentences)
    if "words" in edits:
        sentences = edit_words(rng, sentences)
    if "headline" in edits:
        title = new_headline(rng)
        sentences = [title + ".", *sentences]
    if "boilerplate" in edits:
        dateline, footer = boilerplate(rng, outlet)
        sentences = [dateline, *sentences, footer]
    record = {
        "id": f"c{number:07d}",
        "title": title,
        "text": " ".join(sentences),
        "url": f"https://www.{outlet}/world/{number}",
        "date": original["date"],
        "planted": original["planted"],
    }
    return record, edits


def templated_record(rng: random.Random, recent: list[dict], number: int) -> tuple[dict, str]:
    """A distinct story from a template, or a planted copy of a recent one; returns the record
    (`part` templated, with its `family` and `template`) and what it is."""
    if recent and rng.random() < TEMPLATED_COPY_SHARE:
        original = recent[-1 - min(int(rng.expovariate(0.2)), len(recent) - 1)]

        # Wire desks re-send a templated story under a marked-up headline ("UPDATE 2-...").
        def retitle(rng: random.Random) -> str:
            return f"UPDATE {rng.randint(1, 3)}-{original['title']}"

        record, edits = copy_of(
            rng, original, number, new_headline=retitle, truncate=cut_last_sentence
        )
        kind = "templated_copies"
    else:
        story = templated_story(rng)
        original = {
            **story,
            "date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "planted": f"t{number:07d}",
        }
        recent[:] = [*recent[-199:], original]
        edits = []
        record = {
            "id": original["planted"],
            "title": original["title"],
            "text": " ".join(original["sentences"]),
            "url": f"https://www.{rng.choice(OUTLETS)}/markets/{number}",
            "date": original["date"],
            "planted": original["planted"],
        }
        kind = "templated_stories"
    record.update(
        edits=edits, part="templated", family=original["family"], template=original["template"]
    )
    return record, kind


def generate(
    path: Path, articles: int, seed: int = 13, templated_share: float = TEMPLATED_SHARE
) -> dict:
    """Write the collection as JSON Lines; return what was planted."""
    rng = random.Random(seed)
    # The templated part draws from its own RNG (where it goes too), so the rest of the
    # collection is the same sequence of articles as without it.
    templated_rng = random.Random(f"templated-{seed}")
    recent: list[dict] = []  # originals that copies and follow-ups draw from
    recent_templated: list[dict] = []
    planted: Counter = Counter()
    temporary = path.with_suffix(".partial")
    with open(temporary, "w", encoding="utf-8") as out:
        for number in range(articles):
            if templated_rng.random() < templated_share:
                record, kind = templated_record(templated_rng, recent_templated, number)
                planted[kind] += 1
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                continue
            kind = rng.random()
            if recent and kind < 0.45:
                # Copies cluster in time around their original, as wire copies do.
                original = recent[-1 - min(int(rng.expovariate(0.2)), len(recent) - 1)]
                record, edits = copy_of(rng, original, number)
                record["edits"] = edits
                planted["copies"] += 1
            else:
                sentences = [sentence(rng) for _ in range(rng.randint(12, 30))]
                if recent and kind < 0.55:
                    # A follow-up: a new story that reuses background sentences of an earlier
                    # one (up to 40% of them): distinct, but alike.
                    background = rng.choice(recent)["sentences"]
                    reused = rng.randint(3, max(3, int(0.4 * len(background))))
                    sentences = sentences[: rng.randint(6, 14)]
                    sentences[1:1] = rng.sample(background, min(reused, len(background)))
                    planted["follow_ups"] += 1
                elif kind < 0.62:
                    # A brief: three to five sentences of stock phrasing, few names.
                    sentences = [brief_sentence(rng) for _ in range(rng.randint(3, 5))]
                    planted["briefs"] += 1
                original = {
                    "sentences": sentences,
                    "title": headline(rng),
                    "date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    "planted": f"s{number:07d}",
                }
                recent = [*recent[-199:], original]
                record = {
                    "id": f"s{number:07d}",
                    "title": original["title"],
                    "text": " ".join(sentences),
                    "url": f"https://www.{rng.choice(OUTLETS)}/world/{number}",
                    "date": original["date"],
                    "planted": original["planted"],
                    "edits": [],
                }
                planted["stories"] += 1
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    temporary.replace(path)
    return dict(planted)


def read_collection(path: Path):
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_product(collection: Path, output: Path, threshold: float, shard_size: int) -> dict:
    """The product's dedup, as `stance predict` runs it: signatures saved per shard, stories
    assigned in input order at the merge, then looked up shard by shard."""
    sys.path.insert(0, str(REPO))
    from pipeline.articles import Document
    from pipeline.config import DedupConfig
    from pipeline.prediction.rows import OutputPaths, document_metadata
    from pipeline.prediction.run import group_into_shards, story_index, with_signatures

    dedup = DedupConfig(enabled=True, threshold=threshold)
    with tempfile.TemporaryDirectory() as work:
        paths = OutputPaths.for_output(Path(work) / "out.jsonl")
        paths.parts.mkdir()
        start = time.perf_counter()
        documents = (
            Document(doc_id=r["id"], text=r["text"], title=r["title"], url=r["url"])
            for r in read_collection(collection)
        )
        sidecars = []
        for shard in with_signatures(
            group_into_shards(documents, 0, shard_size, 0), paths.parts, dedup
        ):
            sidecars.append(
                {
                    "number": shard.number,
                    "documents": [document_metadata(d) for d in shard.documents],
                    "signatures": shard.signatures,
                }
            )
        signed = time.perf_counter()
        stories = story_index(paths, sidecars, dedup)
        with open(output, "w", encoding="utf-8") as out:
            for sidecar in sidecars:
                for doc_id, story in stories.stories(sidecar["documents"]).items():
                    out.write(f"{doc_id}\t{story.story_id}\n")
        described = stories.describe()
        stories.close()
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "signature_seconds": signed - start,
        "peak_rss_mb": peak_rss_mb(),
        "dedup": described,
    }


def child_naive(collection: Path, output: Path) -> dict:
    """The reference: exact duplicates of the normalised text, one hash per article."""
    sys.path.insert(0, str(REPO))
    import hashlib

    from pipeline.annotations import normalise_text

    first: dict[bytes, str] = {}
    start = time.perf_counter()
    with open(output, "w", encoding="utf-8") as out:
        for record in read_collection(collection):
            key = hashlib.blake2b(normalise_text(record["text"]).encode(), digest_size=16).digest()
            out.write(f"{record['id']}\t{first.setdefault(key, record['id'])}\n")
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}


def in_child(*args: str) -> dict:
    """Run this script in a fresh process (its own peak memory); return its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def pairs(sizes) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pair_scores(collection: Path, predicted_file: Path) -> dict:
    """Pair precision and recall against the planted stories, overall and per part (templated,
    rest); distinct planted stories merged with another; recall per kind of edit (a copy is
    found when it shares a story with its original)."""
    predicted = dict(
        line.rstrip("\n").split("\t") for line in open(predicted_file, encoding="utf-8")
    )
    joint, found, per_edit = Counter(), Counter(), Counter()
    part_of, family_of = {}, {}  # planted story -> its part, and its family when templated
    for record in read_collection(collection):
        story = predicted[record["id"]]
        part_of[record["planted"]] = record.get("part", "rest")
        family_of[record["planted"]] = record.get("family", "")
        joint[(record["planted"], story)] += 1
        if record["edits"]:
            same = story == predicted[record["planted"]]
            for edit in record["edits"]:
                for where in ("all", part_of[record["planted"]]):
                    per_edit[(where, edit)] += 1
                    found[(where, edit)] += same
    merged = merged_stories(joint)
    parts = {}
    for part in PARTS:
        part_joint = Counter({key: n for key, n in joint.items() if part_of[key[0]] == part})
        planted = {story for story, _ in part_joint}
        parts[part] = {
            **pair_precision_recall(part_joint),
            "planted_stories": len(planted),
            "merged_stories": len(planted & merged),
            "recall_by_edit": recall_by_edit(found, per_edit, part),
        }
    scores = pair_precision_recall(joint)
    # Pairs of a templated and a rest article in one found story: in neither part's figures.
    cross = scores["predicted_pairs"] - sum(parts[p]["predicted_pairs"] for p in PARTS)
    families = {
        family: (
            sum(1 for s in merged if family_of[s] == family),
            sum(1 for s in part_of if family_of[s] == family),
        )
        for family in FAMILIES
    }
    return {
        **scores,
        "stories": len(set(predicted.values())),
        "planted_stories": len(part_of),
        "parts": parts,
        "cross_part_pairs": cross,
        "templated_merged_by_family": families,
        "recall_by_edit": recall_by_edit(found, per_edit, "all"),
    }


def recall_by_edit(found: Counter, per_edit: Counter, where: str) -> dict[str, float]:
    """Per kind of edit: the share of copies (in `where`: a part or all) found with their
    original."""
    return {
        edit: found[(where, edit)] / per_edit[(where, edit)]
        for edit in EDITS
        if per_edit[(where, edit)]
    }


def pair_precision_recall(joint: Counter) -> dict:
    """Pair precision and recall from (planted story, found story) -> articles counts."""
    truth, found = Counter(), Counter()
    for (planted, story), n in joint.items():
        truth[planted] += n
        found[story] += n
    true_pairs, predicted_pairs = pairs(joint.values()), pairs(found.values())
    planted_pairs = pairs(truth.values())
    return {
        "precision": true_pairs / predicted_pairs if predicted_pairs else 1.0,
        "recall": true_pairs / planted_pairs if planted_pairs else 1.0,
        "predicted_pairs": predicted_pairs,
    }


def merged_stories(joint: Counter) -> set[str]:
    """Planted stories that share a found story with another planted story."""
    planted_in: defaultdict[str, set[str]] = defaultdict(set)
    for planted, story in joint:
        planted_in[story].add(planted)
    return {planted for group in planted_in.values() if len(group) > 1 for planted in group}


def template_overlap(collection: Path, per_template: int = 200) -> dict[str, tuple[float, float]]:
    """Per family: the largest and the median Jaccard similarity of the word shingles the
    product compares (`pipeline.dedup.word_shingles`) between two distinct stories of one
    template, over the first `per_template` stories of each: how far below the threshold the
    closest look-alikes are."""
    sys.path.insert(0, str(REPO))
    from itertools import combinations
    from statistics import median

    from pipeline.dedup import word_shingles

    stories: defaultdict[int, list[set]] = defaultdict(list)
    family_of: dict[int, str] = {}
    for record in read_collection(collection):
        template = record.get("template")
        if template is None or record["edits"] or len(stories[template]) >= per_template:
            continue
        stories[template].append(set(word_shingles(record["text"])))
        family_of[template] = record["family"]
    similarities: defaultdict[str, list[float]] = defaultdict(list)
    for template, shingles in stories.items():
        similarities[family_of[template]].extend(
            len(a & b) / len(a | b) for a, b in combinations(shingles, 2)
        )
    return {
        family: (max(values), median(values))
        for family, values in sorted(similarities.items())
        if values
    }


def print_parts(results: dict) -> None:
    """Pair precision and recall of the templated part and of the rest, for every method."""
    print(f"{'part':<10} {'method':<17} {'precision':>9} {'recall':>7} {'merged stories':>18}")
    for part in PARTS:
        for method, r in results.items():
            scores = r["parts"][part]
            merged = f"{scores['merged_stories']}/{scores['planted_stories']}"
            print(
                f"{part:<10} {method:<17} {scores['precision']:>9.4f} {scores['recall']:>7.4f} "
                f"{merged:>18}"
            )
    for method, r in results.items():
        by_family = ", ".join(
            f"{family} {merged}/{total}"
            for family, (merged, total) in r["templated_merged_by_family"].items()
        )
        print(
            f"templated stories merged with another ({method}): {by_family}; "
            f"pairs across parts: {r['cross_part_pairs']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--templated-share", type=float, default=TEMPLATED_SHARE)
    parser.add_argument("--threshold", type=float, default=None, help="[predict.dedup.threshold]")
    parser.add_argument("--shard-size", type=int, default=2000)
    parser.add_argument("--child", choices=("product", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--collection", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "product":
        print(
            json.dumps(child_product(args.collection, args.output, args.threshold, args.shard_size))
        )
        return
    if args.child == "naive":
        print(json.dumps(child_naive(args.collection, args.output)))
        return

    sys.path.insert(0, str(REPO))
    from pipeline.config import PredictConfig

    threshold = args.threshold if args.threshold is not None else PredictConfig().dedup.threshold
    work = Path(tempfile.gettempdir())
    collection = work / (
        f"dedup-bench-v{GENERATOR_VERSION}-{args.articles}-{args.seed}-{args.templated_share}.jsonl"
    )
    if not collection.is_file():
        print(f"generating {args.articles} articles -> {collection}", file=sys.stderr)
        planted = generate(collection, args.articles, args.seed, args.templated_share)
        print(json.dumps(planted), file=sys.stderr)
    ours_file, naive_file = work / "dedup-bench-product.tsv", work / "dedup-bench-naive.tsv"
    common = ["--collection", str(collection), "--shard-size", str(args.shard_size)]
    ours = in_child(
        "--child", "product", *common, "--output", str(ours_file), "--threshold", str(threshold)
    )
    naive = in_child("--child", "naive", *common, "--output", str(naive_file))
    results = {
        "product": {**ours, **pair_scores(collection, ours_file)},
        "naive exact-hash": {**naive, **pair_scores(collection, naive_file)},
    }
    n = args.articles
    print(
        f"{n} articles, threshold {threshold}, {results['product']['planted_stories']} planted stories"
    )
    print(
        f"{'method':<17} {'precision':>9} {'recall':>7} {'stories':>8} {'articles/s':>10} {'peak MB':>8}"
    )
    for method, r in results.items():
        print(
            f"{method:<17} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['stories']:>8} "
            f"{n / r['seconds']:>10.0f} {r['peak_rss_mb']:>8.0f}"
        )
    print_parts(results)
    overlap = ", ".join(
        f"{family} {largest:.2f} ({middle:.2f})"
        for family, (largest, middle) in template_overlap(collection).items()
    )
    print(f"distinct stories of one template, shingle Jaccard max (median): {overlap}")
    for method, r in results.items():
        for where, shares in (
            ("all", r["recall_by_edit"]),
            *((part, r["parts"][part]["recall_by_edit"]) for part in PARTS),
        ):
            by_edit = ", ".join(f"{edit} {share:.3f}" for edit, share in shares.items())
            print(f"copies found with their original ({method}, {where}): {by_edit}")
    product, reference = results["product"], results["naive exact-hash"]
    print(
        f"ratio product/naive: recall x{product['recall'] / max(reference['recall'], 1e-9):.1f}, "
        f"time x{product['seconds'] / reference['seconds']:.1f}, "
        f"signatures {product['signature_seconds']:.0f} s of {product['seconds']:.0f} s, "
        f"LSH {product['dedup']['bands']} bands x {product['dedup']['rows_per_band']} rows"
    )


if __name__ == "__main__":
    main()
