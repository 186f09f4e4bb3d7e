"""One `stance predict` run, whatever engine scores it.

Documents are read in a fixed order and grouped into shards of `documents_per_shard`. The engine
turns each shard into scored passage rows; the run writes each shard atomically (Parquet, then a
JSON sidecar that marks it complete) under `OUT.parts/`. A rerun of the same command (same
identity, any engine) skips every completed shard, so a crash or Ctrl-C loses at most the shards
in flight and never duplicates a passage. Each shard's MinHash signatures (`pipeline.dedup`) are
saved beside it before scoring; the merge assigns every article its story from them, in input
order. When all shards are done they are merged, streaming,
into OUT (format from its extension), `OUT.articles.*`, `OUT.actors.csv`, `OUT.dyads.csv`,
`OUT.errors.jsonl` and the one `OUT.manifest.json`.

An engine (see `Engine`) only produces scored shards; everything a user relies on to trust a run
(fingerprint, resume, the complete check, `--overwrite`, the merge, the manifest) is here.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.actors import ActorDictionary, actor_dictionary_path, load_actor_dictionary
from pipeline.articles import Document, InputProblem, iter_documents, reading_options
from pipeline.config import DedupConfig, PredictConfig
from pipeline.dedup import (
    SingleArticleStories,
    StoryIndex,
    article_signatures,
    load_signatures,
    save_signatures,
)
from pipeline.errors import PipelineError
from pipeline.inputs import RENAMED, resolve_inputs
from pipeline.onnx_backend import ONNX_DIR
from pipeline.outputs import (
    atomic_path,
    holds_output_lock,
    write_batches,
    write_json,
    write_jsonl,
    write_records,
)
from pipeline.prediction.rows import (
    ACTOR_SCHEMA,
    ARTICLE_SCHEMA,
    DYAD_SCHEMA,
    PASSAGE_SCHEMA,
    PROBABILITY_COLUMNS,
    OutputPaths,
    document_metadata,
    output_files,
)
from pipeline.provenance import hash_folder, package_versions, utc_now
from pipeline.run_identity import describe_changes, run_fingerprint, run_identity
from pipeline.scoring import SegmentOptions
from pipeline.summaries import ActorMonthTable, DyadMonthTable, article_summary

log = logging.getLogger(__name__)


@dataclass
class Shard:
    """One unit of work: a run of consecutive input items (documents and problems)."""

    number: int
    first: int
    last: int
    documents: list[Document]
    problems: list[dict]
    # The file under OUT.parts/ with the documents' MinHash signatures (`pipeline.dedup`),
    # written before scoring; None when deduplication is off.
    signatures: str | None = None


@dataclass(frozen=True)
class ScoringSetup:
    """What every engine scores with, built once by the run from the model folder and config."""

    model_dir: Path
    classifier: object  # a StanceClassifier or CascadeClassifier (`cascade.load_classifier`)
    actors: ActorDictionary
    actors_path: Path
    segment: SegmentOptions
    options: PredictConfig
    device: str  # the device the driver's classifier runs on
    work: Path  # a folder under OUT.parts/ the engine may use
    progress: bool = True  # whether the engine may show its own progress bars


class Engine(Protocol):
    """Turns shards of documents into scored passage rows; nothing else.

    `prepare(device)` starts whatever the engine runs on and returns the device the run loads
    its classifier on; `score_shards` yields `(shard, rows)` for every shard it is given, in
    order, rows in PASSAGE_SCHEMA order (`scoring.score_passages` makes them); `describe()`
    adds engine-specific keys to the manifest; `packages` are versions worth recording.
    """

    name: str
    packages: tuple[str, ...]

    def prepare(self, device: str) -> str: ...

    def score_shards(
        self, shards: Iterator[Shard], setup: ScoringSetup
    ) -> Iterator[tuple[Shard, list[dict]]]: ...

    def describe(self) -> dict: ...


def make_engine(name: str, **kwargs) -> Engine:
    """The engine called `name` (`local` or `ray`).

    Raises:
        PipelineError: an unknown name.
    """
    if name == "local":
        from pipeline.prediction.local import LocalEngine

        return LocalEngine(**kwargs)
    if name == "ray":
        from pipeline.prediction.ray_data import RayEngine

        return RayEngine(**kwargs)
    raise PipelineError(f"unknown engine {name!r} (expected local or ray)")


def check_previous_output(paths: OutputPaths, fingerprint: str, identity: dict) -> dict | None:
    """The manifest of a finished OUT made by this same run (nothing to do), or None when there
    is no finished OUT.

    Raises:
        PipelineError: OUT was made by a different run; it is never silently reused or replaced.
    """
    if not paths.manifest.is_file() or paths.parts.exists():
        return None
    try:
        previous = json.loads(paths.manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(
            f"{paths.manifest}: unreadable manifest ({exc}); rerun with --overwrite to score "
            "the inputs again"
        ) from None
    if previous.get("fingerprint") == fingerprint and previous.get("status") == "complete":
        return previous
    earlier = (previous.get("outputs") or {}).get("passages")
    if earlier and Path(earlier).resolve() != paths.passages.resolve():
        raise PipelineError(
            f"{paths.passages}: its summaries ({paths.manifest.name}, {paths.actors.name}, "
            f"{paths.errors.name}) would overwrite those of {earlier}, which has the same name "
            "stem; choose another --output name, or --overwrite to replace that run's summaries"
        )
    raise PipelineError(
        f"{paths.passages} was written by a different run: "
        f"{describe_changes(previous.get('identity'), identity)}; rerun with --overwrite to "
        "score the inputs again and replace it, or choose another --output"
    )


def claim_parts(paths: OutputPaths, fingerprint: str, identity: dict, files: list) -> None:
    """Record this run in OUT.parts/run.json, or check that the shards there are its own.

    A run.json of another run with no finished shard (a run that failed before its first
    shard was written) guards nothing: it is replaced, so the corrected rerun starts.

    Raises:
        PipelineError: finished shards belong to a different run (what changed, and how to
            start over, is in the message).
    """
    run_file = paths.parts / "run.json"
    if run_file.is_file():
        stored = read_run_record(run_file)
        if stored.get("fingerprint") == fingerprint:
            return
        if completed_shards(paths.parts):
            changes = describe_changes(stored.get("identity"), identity, stored.get("files"), files)
            raise PipelineError(
                f"{paths.parts} holds shards of a different run: {changes}; rerun with "
                "--overwrite to start over, or undo the change to resume"
            )
        log.info("%s: no finished shard of the earlier run; starting afresh", paths.parts)
    paths.parts.mkdir(parents=True, exist_ok=True)
    write_json(
        {
            "fingerprint": fingerprint,
            "identity": identity,
            "files": [file.as_row() for file in files],
        },
        run_file,
    )


def read_run_record(run_file: Path) -> dict:
    """OUT.parts/run.json, or an empty record when it is unreadable (a run killed while
    writing it; without shards it is replaced, with shards the mismatch is reported)."""
    try:
        stored = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return stored if isinstance(stored, dict) else {}


def completed_shards(parts: Path) -> list[dict]:
    """Sidecars of finished shards, in order; unfinished leftovers are deleted."""
    sidecars = []
    for sidecar in sorted(parts.glob("shard-*.json")):
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        signatures = data.get("signatures")
        if (parts / data["file"]).is_file() and (not signatures or (parts / signatures).is_file()):
            sidecars.append(data)
    kept = {s["file"] for s in sidecars} | {f"shard-{s['number']:06d}.json" for s in sidecars}
    kept |= {s["signatures"] for s in sidecars if s.get("signatures")}
    for leftover in parts.iterdir():
        if leftover.name.startswith(("shard-", ".shard-")) and leftover.name not in kept:
            leftover.unlink()
    expected_first = 0
    for shard in sidecars:
        if shard["first"] != expected_first:
            raise PipelineError(
                f"{parts}: shard {shard['number']} does not follow the previous "
                "one; delete this folder to start over"
            )
        expected_first = shard["last"] + 1
    return sidecars


def group_into_shards(
    items: Iterator[Document | InputProblem], start: int, size: int, first_number: int
) -> Iterator[Shard]:
    """Group input items into shards of `size`, skipping the first `start` (already done)."""
    number, current, problems, first = first_number, [], [], start
    ordinal = -1
    for ordinal, item in enumerate(items):
        if ordinal < start:
            continue
        if isinstance(item, InputProblem):
            problems.append({**item.as_dict(), "ordinal": ordinal})
        else:
            current.append(item)
        if ordinal - first + 1 >= size:
            yield Shard(number, first, ordinal, current, problems)
            number, current, problems, first = number + 1, [], [], ordinal + 1
    if ordinal >= first:
        yield Shard(number, first, ordinal, current, problems)


def with_signatures(shards: Iterator[Shard], parts: Path, dedup: DedupConfig) -> Iterator[Shard]:
    """Shards with their documents' MinHash signatures saved under `parts` (when dedup is on).

    Saved before the engine sees the shard: an engine may drop document text (Ray ships it to
    workers), and a file keeps the driver's memory flat however many shards are in flight.
    """
    for shard in shards:
        if dedup.enabled:
            name = f"shard-{shard.number:06d}.minhash.npy"
            with atomic_path(parts / name) as temporary:
                save_signatures(article_signatures([d.text for d in shard.documents]), temporary)
            shard.signatures = name
        yield shard


def story_index(paths: OutputPaths, shards: list[dict], dedup: DedupConfig):
    """The stories of every document of the finished shards, assigned in input order."""
    if not dedup.enabled:
        stories = SingleArticleStories()
    else:
        stories = StoryIndex(paths.parts / "stories.sqlite", dedup.threshold)
    for shard in shards:
        signatures = shard.get("signatures")
        if dedup.enabled and not signatures:
            raise PipelineError(
                f"{paths.parts}: shard {shard['number']} has no MinHash signatures for "
                "deduplication (written by an earlier version?); rerun with --overwrite"
            )
        stories.add(
            shard["documents"],
            load_signatures(paths.parts / signatures) if signatures else None,
        )
    return stories


def write_shard(parts: Path, shard: Shard, rows: list[dict]) -> dict:
    """Parquet first, then the sidecar: a sidecar exists only for a fully written shard."""
    name = f"shard-{shard.number:06d}.parquet"
    with atomic_path(parts / name) as temporary:
        pq.write_table(pa.Table.from_pylist(rows, schema=PASSAGE_SCHEMA), temporary)
    sidecar = {
        "number": shard.number,
        "file": name,
        "first": shard.first,
        "last": shard.last,
        "n_passages": len(rows),
        "problems": shard.problems,
        "documents": [document_metadata(d) for d in shard.documents],
        "signatures": shard.signatures,
    }
    with atomic_path(parts / f"shard-{shard.number:06d}.json") as temporary:
        temporary.write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
    return sidecar


def merge_outputs(
    paths: OutputPaths,
    parts: Callable[[], Iterator[tuple[pa.Table, list[dict]]]],
    problems: list[dict],
    stories: StoryIndex | SingleArticleStories | None = None,
) -> dict:
    """Write OUT, OUT.articles.*, OUT.actors.csv, OUT.dyads.csv and OUT.errors.jsonl from scored
    parts.

    `parts()` yields (passage table, metadata of the documents it covers) in document order; it
    is called twice (passages, then articles) so that nothing but the per-(actor, month) and
    per-(holder, target, month) tables is held in memory. `stories` (see `story_index`) gives
    each document its story and remembers the stories both tables have counted; without it every
    article is its own.
    """
    stories = stories if stories is not None else SingleArticleStories()
    actors = ActorMonthTable(counted=stories)
    dyads = DyadMonthTable(counted=stories)
    label_counts: Counter = Counter()

    def passage_batches() -> Iterator[pa.RecordBatch]:
        for table, documents in parts():
            story_of = stories.stories(documents)
            columns = ["doc_id", "holder", "target", "date", "label", *PROBABILITY_COLUMNS]
            rows = table.select(columns).to_pylist()
            for row in rows:
                story = story_of[row["doc_id"]]
                row["story_id"], row["story_size"] = story.story_id, story.size
            actors.add(rows)
            dyads.add(rows)
            label_counts.update(table["label"].to_pylist())
            yield from table.to_batches()

    def article_batches() -> Iterator[pa.RecordBatch]:
        for table, documents in parts():
            story_of = stories.stories(documents)
            rows = table.to_pylist()
            by_doc = {doc: list(group) for doc, group in groupby(rows, key=lambda r: r["doc_id"])}
            summaries = [
                article_summary(
                    {**d, **story_of[d["doc_id"]].fields()}, by_doc.get(d["doc_id"], [])
                )
                for d in documents
            ]
            yield pa.RecordBatch.from_pylist(summaries, schema=ARTICLE_SCHEMA)

    n_passages = write_batches(passage_batches(), paths.passages, PASSAGE_SCHEMA)
    n_documents = write_batches(article_batches(), paths.articles, ARTICLE_SCHEMA)
    write_records(actors.records(), paths.actors, ACTOR_SCHEMA)
    write_records(dyads.records(), paths.dyads, DYAD_SCHEMA)
    write_jsonl(problems, paths.errors)
    renamed = sum(1 for p in problems if p.get("action") == RENAMED)
    return {
        "documents": n_documents,
        "passages": n_passages,
        "errors": len(problems) - renamed,
        "renamed_ids": renamed,
        "stories": stories.count,
        "labels": dict(sorted(label_counts.items())),
    }


def shard_parts(paths: OutputPaths, shards: list[dict]):
    """`merge_outputs` parts read back from the finished shards, in order."""

    def parts() -> Iterator[tuple[pa.Table, list[dict]]]:
        for shard in shards:
            yield (
                pq.read_table(paths.parts / shard["file"], schema=PASSAGE_SCHEMA),
                shard["documents"],
            )

    return parts


def model_record(model_dir, model_hash: str, classifier) -> dict:
    """What the manifest says about the model that scored: the same for every engine."""
    return {
        "folder": str(model_dir),
        "sha256": model_hash,
        "base_model": classifier.meta.get("base_model"),
        "labels": classifier.labels,
        "device": str(classifier.device),
        "backend": classifier.backend,
        # The graph that scored, beside the folder hash (which leaves the onnx/ cache out).
        "onnx_graph": classifier.onnx_graph,
        # The decision rule travels with the model folder; every engine applies the same one.
        "decision": classifier.decision.as_dict(),
        "cascade": classifier.describe() if hasattr(classifier, "describe") else None,
    }


@holds_output_lock
def predict(
    model_dir: str | Path,
    inputs: list[str],
    output: str | Path,
    options: PredictConfig,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
    engine: str | Engine = "local",
) -> dict:
    """Score every document in `inputs` with `engine`; write OUT and its summaries; return the
    manifest.

    Raises:
        PipelineError: a missing input; an output that is an input or lies inside an input
            folder; a bad output path; a model folder problem; a finished OUT or leftover shards
            from a different run (the message says what changed); an unknown engine.
    """
    from tqdm.auto import tqdm

    from pipeline.cascade import load_classifier

    engine = make_engine(engine) if isinstance(engine, str) else engine
    started, clock = utc_now(), time.time()
    paths = OutputPaths.for_output(output)
    files = resolve_inputs(inputs, output_files(paths))
    model_hash = hash_folder(model_dir, exclude=(ONNX_DIR,))
    identity = run_identity(list(inputs), paths.passages, model_hash, options, files)
    fingerprint = run_fingerprint(identity)
    if overwrite:
        shutil.rmtree(paths.parts, ignore_errors=True)
    else:
        previous = check_previous_output(paths, fingerprint, identity)
        if previous is not None:
            log.info("%s is complete for these inputs; nothing scored", paths.passages)
            return {**previous, "already_complete": True}
    # Everything that can fail on a bad model or setting loads before OUT.parts/ exists, so a
    # failed start leaves no run.json behind to refuse the corrected rerun. The driver's model
    # also exports or quantizes an ONNX graph once, before any parallel worker loads it.
    classifier_device = engine.prepare(device)
    classifier = load_classifier(
        model_dir,
        device=classifier_device,
        backend=options.backend,
        tokens_per_batch=options.tokens_per_batch,
    )
    setup = ScoringSetup(
        model_dir=Path(model_dir),
        classifier=classifier,
        actors=load_actor_dictionary(options.actors, model_dir),
        actors_path=actor_dictionary_path(options.actors, model_dir).resolve(),
        segment=SegmentOptions.from_config(options),
        options=options,
        device=classifier_device,
        work=paths.parts / engine.name,
        progress=progress,
    )
    # The predict config says how records are read (field names, languages, compression limit);
    # a bad setting fails here, before OUT.parts/ exists.
    documents = iter_documents(inputs, **reading_options(options))
    claim_parts(paths, fingerprint, identity, files)
    done = completed_shards(paths.parts)
    resumed_shards = len(done)
    shards = group_into_shards(
        documents,
        done[-1]["last"] + 1 if done else 0,
        options.documents_per_shard,
        len(done),
    )
    shards = with_signatures(shards, paths.parts, options.dedup)

    bar = tqdm(desc="articles", unit="doc", disable=None if progress else True)
    bar.update(sum(len(s["documents"]) for s in done))
    scored_passages, score_clock = 0, time.time()
    for shard, rows in engine.score_shards(shards, setup):
        done.append(write_shard(paths.parts, shard, rows))
        scored_passages += len(rows)
        bar.update(len(shard.documents))
        rate = scored_passages / max(time.time() - score_clock, 1e-9)
        bar.set_postfix(
            passages=scored_passages,
            passages_per_s=f"{rate:.0f}",
            errors=sum(len(s["problems"]) for s in done),
        )
    bar.close()
    problems = [p for shard in done for p in shard["problems"]]
    stories = story_index(paths, done, options.dedup)
    try:
        counts = merge_outputs(paths, shard_parts(paths, done), problems, stories)
    finally:
        stories.close()
    seconds = time.time() - clock
    manifest = {
        "status": "complete",
        "fingerprint": fingerprint,
        "identity": identity,
        "started": started,
        "finished": utc_now(),
        "engine": engine.name,
        **engine.describe(),
        "model": model_record(model_dir, model_hash, classifier),
        "config": {
            "predict": options.model_dump(mode="json"),
            "model": classifier.meta.get("config"),
        },
        "inputs": list(inputs),
        "outputs": paths.written(),
        "counts": counts,
        "dedup": stories.describe(),
        "resumed_shards": resumed_shards,
        "shards": len(done),
        "timings": {
            "seconds": round(seconds, 2),
            "passages_per_second_this_run": round(scored_passages / max(seconds, 1e-9), 1),
            "passages_scored_this_run": scored_passages,
        },
        "versions": package_versions(("pyarrow", "trafilatura", *engine.packages)),
    }
    write_json(manifest, paths.manifest)
    shutil.rmtree(paths.parts, ignore_errors=True)
    return manifest
