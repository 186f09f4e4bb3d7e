"""The teacher's soft labels for `stance distill`: unlabelled articles read, segmented and scored
once by the teacher, cached in the run folder.

The inputs are read, language-filtered and segmented exactly as `stance predict` reads them
(`articles.iter_documents` with the config's predict settings, then `scoring.document_passages`);
a bad file or record is kept as a problem and skipped. The teacher scores every passage with
`scoring.score_passages`, so its context mode and backend apply as in predict, and its full
probability vector is kept. The cache (`teacher_labels.parquet`, written atomically) carries its
key inside: the teacher folder's hash, the content hash of every input file in reading order,
the predict settings that read and score them and the passage limit. A rerun with the same key
reuses it; any change rebuilds it, so old labels are never mixed with new inputs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.config import Config, PredictConfig
from pipeline.inputs import InputProblem
from pipeline.labels import LABELS

log = logging.getLogger(__name__)

CACHE_FILE = "teacher_labels.parquet"
CACHE_METADATA_KEY = b"stance.distill"
# Predict settings that do not change which passages are read or how they are scored.
NOT_READING_SETTINGS = ("documents_per_shard", "dedup", "actors", "holder_context_sentences")


@dataclass(frozen=True)
class TeacherPassage:
    """One segmented unlabelled passage, with the context a context-reading model needs."""

    doc_id: str
    index: int
    text: str
    previous: str
    headline: str


@dataclass(frozen=True)
class SoftLabels:
    """The teacher's probabilities (columns in LABELS order) for every unlabelled passage."""

    passages: list[TeacherPassage]
    probabilities: np.ndarray
    problems: list[dict]  # skipped or renamed inputs, as `InputProblem.as_dict` gives them
    documents: int
    cache: str  # "built", "reused" or "rebuilt (...why...)"


def reading_settings(options: PredictConfig) -> dict:
    """The predict settings that decide which passages are read and scored (the cache key)."""
    settings = options.model_dump(mode="json")
    return {k: v for k, v in settings.items() if k not in NOT_READING_SETTINGS}


def cache_key(
    teacher_hash: str, files: list, options: PredictConfig, max_passages: int | None
) -> dict:
    """What must match for cached soft labels to be reused: the teacher folder, the content of
    every input file (in reading order), the reading settings and the passage limit."""
    from pipeline.provenance import sha256_file

    return {
        "teacher_sha256": teacher_hash,
        "files": [[file.path, sha256_file(file.path)] for file in files],
        "reading": reading_settings(options),
        "max_passages": max_passages,
    }


def describe_key_change(old: dict, new: dict) -> str:
    """Why a cache no longer applies, in words."""
    if old.get("teacher_sha256") != new["teacher_sha256"]:
        return "the teacher model changed"
    before = {path: digest for path, digest in old.get("files") or []}
    after = {path: digest for path, digest in new["files"]}
    changed = [p for p in after if p in before and before[p] != after[p]]
    added = [p for p in after if p not in before]
    removed = [p for p in before if p not in after]
    parts = [
        f"{what}: {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''}"
        for what, paths in (("changed", changed), ("added", added), ("removed", removed))
        if paths
    ]
    if parts:
        return "input files " + "; ".join(parts)
    if old.get("reading") != new["reading"]:
        return "the predict settings that read the inputs changed"
    if old.get("max_passages") != new["max_passages"]:
        return "distill.max_passages changed"
    return "the cache key differs"


def read_cache(path: Path, key: dict) -> tuple[SoftLabels | None, str]:
    """Cached soft labels when their key equals `key`, else None and why they were not used."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return None, "built"
    try:
        table = pq.read_table(path)
        stored = json.loads(table.schema.metadata[CACHE_METADATA_KEY])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: unreadable soft-label cache (%s); the teacher scores again", path, exc)
        return None, "rebuilt (the cache was unreadable)"
    if stored.get("key") != key:
        return None, f"rebuilt ({describe_key_change(stored.get('key') or {}, key)})"
    columns = table.to_pydict()
    passages = [
        TeacherPassage(*values)
        for values in zip(
            *(columns[name] for name in ("doc_id", "index", "text", "previous", "headline")),
            strict=True,
        )
    ]
    probabilities = np.asarray([columns[f"p_{label}"] for label in LABELS], dtype=np.float32).T
    labels = SoftLabels(
        passages,
        probabilities.reshape(len(passages), len(LABELS)),
        stored["problems"],
        stored["documents"],
        "reused",
    )
    return labels, "reused"


def write_cache(path: Path, key: dict, labels: SoftLabels) -> None:
    """Write soft labels and their key as one Parquet file, atomically: a cache is whole or
    absent, and its key travels inside it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.outputs import atomic_path

    columns = {
        "doc_id": [p.doc_id for p in labels.passages],
        "index": [p.index for p in labels.passages],
        "text": [p.text for p in labels.passages],
        "previous": [p.previous for p in labels.passages],
        "headline": [p.headline for p in labels.passages],
        **{f"p_{label}": labels.probabilities[:, i].tolist() for i, label in enumerate(LABELS)},
    }
    stored = {"key": key, "problems": labels.problems, "documents": labels.documents}
    table = pa.table(columns).replace_schema_metadata(
        {CACHE_METADATA_KEY: json.dumps(stored, ensure_ascii=False)}
    )
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def score_unlabelled(
    teacher,
    inputs: list[str],
    options: PredictConfig,
    actors,
    max_passages: int | None,
    progress: bool = True,
) -> SoftLabels:
    """Read and segment the inputs as predict does and have the teacher score every passage
    (the first `max_passages` when set); bad inputs are kept as problems and skipped."""
    from tqdm.auto import tqdm

    from pipeline.articles import iter_documents, reading_options
    from pipeline.scoring import SegmentOptions, document_passages, score_passages

    segment = SegmentOptions.from_config(options)
    passages, probabilities, problems, documents, pending = [], [], [], 0, []
    bar = tqdm(desc="teacher", unit="passage", disable=None if progress else True)

    def flush():
        rows = score_passages(teacher, pending)
        probabilities.extend([[row[f"p_{label}"] for label in LABELS] for row in rows])
        passages.extend(
            TeacherPassage(p.doc_id, p.index, p.text, p.previous, p.headline) for p in pending
        )
        bar.update(len(pending))
        pending.clear()

    for item in iter_documents(inputs, **reading_options(options)):
        if isinstance(item, InputProblem):
            problems.append(item.as_dict())
            continue
        documents += 1
        pending.extend(document_passages(item, segment, actors))
        if max_passages is not None and len(passages) + len(pending) >= max_passages:
            del pending[max_passages - len(passages) :]
            break
        if len(pending) >= 1024:
            flush()
    flush()
    bar.close()
    return SoftLabels(
        passages,
        np.asarray(probabilities, dtype=np.float32).reshape(len(passages), len(LABELS)),
        problems,
        documents,
        "built",
    )


def soft_labels_for(
    teacher,
    key: dict,
    inputs: list[str],
    config: Config,
    actors,
    cache_path: Path,
    progress: bool = True,
) -> SoftLabels:
    """The teacher's soft labels for the inputs: from the cache when its key (`cache_key`)
    matches, else scored now and cached."""
    cached, status = read_cache(cache_path, key)
    if cached is not None:
        log.info("%s: reusing the teacher's soft labels", cache_path)
        return cached
    log.info("%s: %s", cache_path, status)
    labels = score_unlabelled(
        teacher, inputs, config.predict, actors, config.distill.max_passages, progress
    )
    labels = replace(labels, cache=status)
    write_cache(cache_path, key, labels)
    return labels
