"""Wire copies: near-identical articles grouped into stories with MinHash LSH (datasketch).

The same wire story is printed by many outlets with light edits: another headline, a few words
changed, the outlet's own boilerplate around it, the end cut off. Counting every copy would let
one agency story outweigh dozens of original reports, so each article gets a story: the
articles whose word shingles overlap by at least `predict.dedup.threshold` (estimated Jaccard
similarity) share one.

How it stays streaming, flat in memory and deterministic:
- each shard's MinHash signatures are computed once, before scoring, and saved beside the
  shard (`article_signatures`), so a resumed run keeps them;
- the merge assigns stories in input order (`StoryIndex`): an article joins the story of the
  most similar earlier article among the LSH candidates (ties: the earlier one), else it starts
  a story named after itself. The LSH bands, one representative signature per band and story,
  and the story of every article live in an SQLite file under OUT.parts/, so memory holds one
  shard's records at a time whatever the size of the collection;
- the same inputs in the same order give the same stories, with either engine.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import urlsplit

import numpy as np

from pipeline.annotations import normalise_text

# Word 5-grams: long enough that the stock phrases every news text shares ("said in a
# statement on", "the ministry said on") do not make distinct stories look alike, short enough
# that one changed word breaks only five shingles of a copy (a 300-word copy with five words
# changed keeps about 90% of its shingles). Broder's web-page shingles (10 words) miss copies
# with edited wording; 2-3 words make unrelated articles on one topic collide.
SHINGLE_WORDS = 5
PERMUTATIONS = 128  # the estimated Jaccard similarity has a standard error of 0.04 near 0.7
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"  # datasketch >= 2.0: unbiased on long texts, stored as uint32
# LSH bands are chosen so that a pair exactly at the threshold becomes a candidate with at least
# this probability; candidates are then checked against the threshold, so extra ones cost time,
# not precision.
CANDIDATE_RECALL = 0.99
MAX_CANDIDATES = 200  # earlier articles compared per article, at most (a guard for boilerplate)


def word_shingles(text: str, size: int = SHINGLE_WORDS) -> list[bytes]:
    """The distinct word `size`-grams of `text` once normalised (lower-cased, punctuation dropped,
    whitespace collapsed: `annotations.normalise_text`), as UTF-8 bytes. A text shorter than
    `size` words is one shingle; an empty text has none."""
    words = normalise_text(text).split()
    if len(words) <= size:
        return [" ".join(words).encode()] if words else []
    return list(
        dict.fromkeys(" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1))
    )


def article_signatures(texts: Sequence[str]) -> np.ndarray:
    """MinHash signatures of `texts`, one row of PERMUTATIONS uint32 per text (an empty text
    gets the all-maximum row, which `StoryIndex` never matches)."""
    from datasketch import MinHash

    rows = np.empty((len(texts), PERMUTATIONS), dtype=np.uint32)
    minhashes = MinHash.generator(
        (word_shingles(text) for text in texts),
        num_perm=PERMUTATIONS,
        seed=MINHASH_SEED,
        scheme=MINHASH_SCHEME,
    )
    for i, minhash in enumerate(minhashes):
        rows[i] = minhash.hashvalues
    return rows


def save_signatures(signatures: np.ndarray, path: Path) -> None:
    """Write a shard's signatures (`.npy`; no pickle) to `path`."""
    with open(path, "wb") as stream:
        np.save(stream, np.ascontiguousarray(signatures, dtype=np.uint32), allow_pickle=False)


def load_signatures(path: Path) -> np.ndarray:
    """A shard's signatures as `save_signatures` wrote them."""
    return np.load(path, allow_pickle=False)


def lsh_bands(threshold: float, permutations: int = PERMUTATIONS) -> tuple[int, int]:
    """(bands, rows per band): the most rows per band (fewest needless candidates) for which a
    pair at `threshold` still becomes a candidate with probability CANDIDATE_RECALL.

    datasketch's `MinHashLSH` picks bands that balance misses against false candidates, which
    misses about half of the pairs at the threshold; since every candidate is checked here,
    misses are what matter.
    """
    for rows in range(permutations, 0, -1):
        bands = permutations // rows
        if 1 - (1 - threshold**rows) ** bands >= CANDIDATE_RECALL:
            return bands, rows
    return permutations, 1


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """One 63-bit key per band: the band's number and its slice of the signature, hashed."""
    keys = []
    for band in range(bands):
        piece = signature[band * rows : (band + 1) * rows].tobytes()
        digest = hashlib.blake2b(piece, digest_size=8, person=band.to_bytes(16, "little"))
        keys.append(int.from_bytes(digest.digest(), "little") >> 1)
    return keys


def outlet_of(document: Mapping) -> str:
    """Who printed a document: the host of its URL (without `www.`), else its `source` field
    (a site name or news-please's `source_domain`), else the name of the folder it was read
    from."""
    url = str(document.get("url") or "")
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:  # a malformed URL, e.g. an unclosed IPv6 bracket
        host = None
    if host:
        return host.removeprefix("www.")
    source = str(document.get("source") or "").strip()
    if source:
        return source
    where = str(document.get("input") or "")
    return PurePath(where).parent.name or where


@dataclass(frozen=True)
class Story:
    """The story an article belongs to: its id (the first article's doc_id), how many articles
    it has and the outlets that printed them (in the order they first appear)."""

    story_id: str
    size: int
    outlets: tuple[str, ...]

    def fields(self) -> dict:
        """The story columns of an article row."""
        return {
            "story_id": self.story_id,
            "story_size": self.size,
            "story_outlets": json.dumps(list(self.outlets), ensure_ascii=False),
        }


class SingleArticleStories:
    """Deduplication off: every article is a story of its own."""

    def __init__(self):
        self.count = 0

    def add(self, documents: Iterable[Mapping], signatures: np.ndarray | None = None) -> None:
        self.count += sum(1 for _ in documents)

    def stories(self, documents: Sequence[Mapping]) -> dict[str, Story]:
        """doc_id -> Story for `documents`."""
        return {d["doc_id"]: Story(d["doc_id"], 1, (outlet_of(d),)) for d in documents}

    def first_time(self, key: tuple) -> bool:
        return True  # single-article stories never meet themselves twice

    def describe(self) -> dict:
        return {"enabled": False, "stories": self.count}

    def close(self) -> None:
        pass


_TABLES = """
CREATE TABLE bands (key INTEGER, story_id TEXT, ordinal INTEGER, PRIMARY KEY (key, story_id))
    WITHOUT ROWID;
CREATE TABLE signatures (ordinal INTEGER PRIMARY KEY, signature BLOB);
CREATE TABLE articles (doc_id TEXT PRIMARY KEY, story_id TEXT) WITHOUT ROWID;
CREATE TABLE stories (story_id TEXT PRIMARY KEY, size INTEGER) WITHOUT ROWID;
CREATE TABLE outlets (story_id TEXT, outlet TEXT, ordinal INTEGER, PRIMARY KEY (story_id, outlet))
    WITHOUT ROWID;
CREATE TABLE counted (key TEXT PRIMARY KEY) WITHOUT ROWID;
"""


class StoryIndex:
    """Stories of a collection, assigned in input order, kept in an SQLite file.

    `add` each shard's documents (metadata dicts with doc_id, url, source, input) with their
    signatures, in input order; then `stories` looks up the stories of any documents, and
    `first_time` records keys the actor and dyad tables have counted (see
    `summaries.StoryCounter`).
    The file is scratch: rebuilt from the shards' signatures whenever the merge runs.
    """

    def __init__(self, path: str | Path, threshold: float):
        self.path = Path(path)
        self.threshold = threshold
        self.bands, self.rows = lsh_bands(threshold)
        self.path.unlink(missing_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        # A scratch file: nothing to recover after a crash, so no journal and no fsync.
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _TABLES)
        self._db.execute("BEGIN")
        self._ordinal = 0
        self.count = 0

    def add(self, documents: Sequence[Mapping], signatures: np.ndarray) -> None:
        """Assign a story to each document, in order (`signatures` row i is document i's)."""
        if len(documents) != len(signatures):
            raise ValueError(
                f"{len(documents)} documents but {len(signatures)} signatures in one shard"
            )
        for document, signature in zip(documents, signatures, strict=True):
            self._assign(document, signature)
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def _assign(self, document: Mapping, signature: np.ndarray) -> None:
        doc_id, ordinal = document["doc_id"], self._ordinal
        self._ordinal += 1
        empty = bool(np.all(signature == np.iinfo(np.uint32).max))
        keys = [] if empty else band_keys(signature, self.bands, self.rows)
        story = self._closest_story(signature, keys) or doc_id
        db = self._db
        if story == doc_id:
            db.execute("INSERT INTO stories VALUES (?, 1)", (story,))
            self.count += 1
        else:
            db.execute("UPDATE stories SET size = size + 1 WHERE story_id = ?", (story,))
        db.execute("INSERT INTO articles VALUES (?, ?)", (doc_id, story))
        db.execute(
            "INSERT OR IGNORE INTO outlets VALUES (?, ?, ?)", (story, outlet_of(document), ordinal)
        )
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO bands VALUES (?, ?, ?)", [(k, story, ordinal) for k in keys]
        )
        if db.total_changes > before:  # a representative of its story for some band
            db.execute("INSERT INTO signatures VALUES (?, ?)", (ordinal, signature.tobytes()))

    def _closest_story(self, signature: np.ndarray, keys: list[int]) -> str | None:
        """The story of the most similar earlier representative at or above the threshold
        (ties: the earliest), or None."""
        if not keys:
            return None
        marks = ",".join("?" * len(keys))
        candidates = self._db.execute(
            f"SELECT b.ordinal, b.story_id, s.signature FROM "
            f"(SELECT DISTINCT ordinal, story_id FROM bands WHERE key IN ({marks}) "
            f"ORDER BY ordinal LIMIT {MAX_CANDIDATES}) AS b "
            "JOIN signatures AS s ON s.ordinal = b.ordinal ORDER BY b.ordinal",
            keys,
        ).fetchall()
        best, best_similarity = None, self.threshold
        for _, story, blob in candidates:
            other = np.frombuffer(blob, dtype=np.uint32)
            similarity = float(np.count_nonzero(other == signature)) / len(signature)
            if similarity > best_similarity or (best is None and similarity >= self.threshold):
                best, best_similarity = story, similarity
        return best

    def stories(self, documents: Sequence[Mapping]) -> dict[str, Story]:
        """doc_id -> Story for `documents` (already added)."""
        ids = [d["doc_id"] for d in documents]
        story_of: dict[str, str] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            story_of.update(
                self._db.execute(
                    f"SELECT doc_id, story_id FROM articles WHERE doc_id IN ({marks})", chunk
                ).fetchall()
            )
        details: dict[str, Story] = {}
        for chunk in _chunks(sorted(set(story_of.values()))):
            marks = ",".join("?" * len(chunk))
            sizes = dict(
                self._db.execute(
                    f"SELECT story_id, size FROM stories WHERE story_id IN ({marks})", chunk
                ).fetchall()
            )
            outlets: dict[str, list[str]] = {}
            for story, outlet in self._db.execute(
                f"SELECT story_id, outlet FROM outlets WHERE story_id IN ({marks}) "
                "ORDER BY story_id, ordinal",
                chunk,
            ):
                outlets.setdefault(story, []).append(outlet)
            for story in chunk:
                details[story] = Story(story, sizes[story], tuple(outlets[story]))
        return {doc_id: details[story_of[doc_id]] for doc_id in ids}

    def first_time(self, key: tuple) -> bool:
        """Whether `key` (table, cell, counter, story: `summaries.StoryCounter`) is seen here
        for the first time."""
        before = self._db.total_changes
        self._db.execute("INSERT OR IGNORE INTO counted VALUES (?)", ("\x1f".join(key),))
        return self._db.total_changes > before

    def describe(self) -> dict:
        """What the manifest records about deduplication."""
        return {
            "enabled": True,
            "threshold": self.threshold,
            "stories": self.count,
            "shingle_words": SHINGLE_WORDS,
            "permutations": PERMUTATIONS,
            "bands": self.bands,
            "rows_per_band": self.rows,
        }

    def close(self) -> None:
        """Close and delete the file."""
        self._db.close()
        self.path.unlink(missing_ok=True)


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    """`items` in pieces small enough for one SQLite statement's parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
