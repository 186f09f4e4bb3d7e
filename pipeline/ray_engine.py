"""`stance predict --engine ray`: the same scoring, distributed with Ray Data.

1. The driver reads the inputs with the same reader as the local engine (so skipped files and
   records are reported identically) and writes the documents to Parquet shards, streaming.
2. Ray Data reads those shards, cuts documents into passages (`map_batches` tasks; the actor
   dictionary is cached per worker), and scores them (`map_batches` with an actor pool: each
   actor loads the model once; one GPU per actor when the cluster has GPUs).
3. The scored passages are written as Parquet, sorted back into input order, and merged into
   the same outputs and summaries as the local engine.

Point it at a cluster with `RAY_ADDRESS=ray://<head>:10001`; without it a local Ray instance is
started. The inputs and OUT must then be on storage every node can read.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.actors import actor_dictionary_path, load_actor_dictionary
from pipeline.articles import InputProblem, iter_documents
from pipeline.config import PredictConfig
from pipeline.decision import DecisionRule
from pipeline.inference import (
    DOCUMENT_FIELDS,
    PASSAGE_SCHEMA,
    OutputPaths,
    merge_outputs,
    output_files,
)
from pipeline.inputs import resolve_inputs
from pipeline.onnx_backend import ONNX_DIR
from pipeline.outputs import holds_output_lock, write_json
from pipeline.provenance import hash_folder, package_versions, utc_now
from pipeline.run_identity import run_fingerprint, run_identity
from pipeline.scoring import SegmentOptions

DOCUMENT_SCHEMA = pa.schema(
    [("ordinal", pa.int64()), ("text", pa.string()), *[(f, pa.string()) for f in DOCUMENT_FIELDS]]
)
SCORED_SCHEMA = pa.schema([("ordinal", pa.int64()), ("index", pa.int64()), *PASSAGE_SCHEMA])


@functools.lru_cache(maxsize=4)
def _actor_dictionary(path: str):
    from pipeline.actors import ActorDictionary

    return ActorDictionary.from_yaml(path)


def segment_batch(batch: dict, options: dict) -> dict:
    """Ray Data task: documents -> unscored passages (actor dictionary cached per worker)."""
    from pipeline.articles import Document
    from pipeline.scoring import document_passages

    segment = SegmentOptions(**options["segment"])
    actors = _actor_dictionary(options["actors"])
    out = {k: [] for k in ("ordinal", "index", "doc_id", "start", "end", "text", "holder", "date")}
    for i in range(len(batch["ordinal"])):
        document = Document(doc_id=batch["doc_id"][i], text=batch["text"][i], date=batch["date"][i])
        for passage in document_passages(document, segment, actors):
            out["ordinal"].append(int(batch["ordinal"][i]))
            out["index"].append(passage.index)
            out["doc_id"].append(passage.doc_id)
            out["start"].append(passage.start)
            out["end"].append(passage.end)
            out["text"].append(passage.text)
            out["holder"].append(passage.holder)
            out["date"].append(passage.date)
    return out


class Scorer:
    """Ray Data actor: loads the model once, scores batches of passages."""

    def __init__(self, model_dir: str, backend: str, device: str):
        from pipeline.cascade import load_classifier

        self.classifier = load_classifier(model_dir, device=device, backend=backend)

    def __call__(self, batch: dict) -> dict:
        from pipeline.scoring import Passage, score_passages

        passages = [
            Passage(
                doc_id=batch["doc_id"][i],
                index=int(batch["index"][i]),
                start=int(batch["start"][i]),
                end=int(batch["end"][i]),
                text=batch["text"][i],
                holder=batch["holder"][i],
                date=batch["date"][i],
            )
            for i in range(len(batch["doc_id"]))
        ]
        rows = score_passages(self.classifier, passages)
        out = {
            "ordinal": [int(o) for o in batch["ordinal"]],
            "index": [int(i) for i in batch["index"]],
        }
        for column in PASSAGE_SCHEMA.names:
            out[column] = [row[column] for row in rows]
        return out


def _write_documents(
    inputs: list[str], options: PredictConfig, folder: Path, rows_per_file: int
) -> tuple[list[dict], int]:
    """Stream the inputs into Parquet files of documents; return input problems and count."""
    folder.mkdir(parents=True, exist_ok=True)
    problems, buffer, files, count = [], [], 0, 0

    def flush() -> None:
        nonlocal buffer, files
        if buffer:
            pq.write_table(
                pa.Table.from_pylist(buffer, schema=DOCUMENT_SCHEMA),
                folder / f"documents-{files:06d}.parquet",
            )
            buffer, files = [], files + 1

    for ordinal, item in enumerate(iter_documents(inputs, options.max_file_bytes)):
        if isinstance(item, InputProblem):
            problems.append({**item.as_dict(), "ordinal": ordinal})
            continue
        buffer.append(
            {
                "ordinal": ordinal,
                "text": item.text,
                **{f: getattr(item, f) for f in DOCUMENT_FIELDS},
            }
        )
        count += 1
        if len(buffer) >= rows_per_file:
            flush()
    flush()
    return problems, count


@holds_output_lock
def predict_with_ray(
    model_dir: str | Path,
    inputs: list[str],
    output: str | Path,
    options: PredictConfig,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
    actors_per_node: int | None = None,
) -> dict:
    """Score `inputs` with Ray Data; same outputs, rows and order as `inference.predict`."""
    import ray

    started, clock = utc_now(), time.time()
    paths = OutputPaths.for_output(output)
    files = resolve_inputs(inputs, output_files(paths))
    model_hash = hash_folder(model_dir, exclude=(ONNX_DIR,))
    identity = run_identity(list(inputs), paths.passages, model_hash, options, files)
    fingerprint = run_fingerprint(identity)
    work = Path(f"{paths.parts}.ray")
    shutil.rmtree(work, ignore_errors=True)
    problems, n_documents = _write_documents(
        list(inputs), options, work / "documents", options.documents_per_shard
    )

    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = progress
    gpus = int(ray.cluster_resources().get("GPU", 0))
    use_gpu = gpus > 0 and device != "cpu"
    load_actor_dictionary(options.actors, model_dir)  # a bad dictionary fails here, not in Ray
    segment = {
        "segment": vars(SegmentOptions.from_config(options)),
        "actors": str(actor_dictionary_path(options.actors, model_dir).resolve()),
    }
    scored_dir = work / "scored"
    onnx_graph = None
    if n_documents:
        # Export or quantize the ONNX graph once, before the actors start in parallel.
        from pipeline.cascade import load_classifier

        loaded = load_classifier(
            model_dir, device="cuda" if use_gpu else "cpu", backend=options.backend
        )
        backend, onnx_graph = loaded.backend, loaded.onnx_graph
        dataset = ray.data.read_parquet(str(work / "documents"))
        dataset = dataset.map_batches(segment_batch, fn_kwargs={"options": segment}, batch_size=256)
        dataset = dataset.map_batches(
            Scorer,
            fn_constructor_kwargs={
                "model_dir": str(Path(model_dir).resolve()),
                "backend": backend,
                "device": "cuda" if use_gpu else "cpu",
            },
            batch_size=1024,
            concurrency=actors_per_node or max(gpus, 1),
            num_gpus=1 if use_gpu else 0,
        )
        # Order is preserved within each output file; files are ordered by their first row below.
        dataset.write_parquet(str(scored_dir))

    def parts():
        """Scored passages and document metadata, both in input order, one file at a time."""
        files = sorted(scored_dir.glob("*.parquet")) if scored_dir.exists() else []
        keys = {}
        for file in files:  # order files by their first passage, reading two columns only
            head = pq.read_table(file, columns=["ordinal", "index"])
            if head.num_rows:
                keys[file] = (head["ordinal"][0].as_py(), head["index"][0].as_py())
        ordered = sorted(keys, key=keys.get)
        documents = (
            pq.read_table(work / "documents", columns=["ordinal", *DOCUMENT_FIELDS])
            if n_documents
            else pa.table({"ordinal": []})
        )
        metadata = sorted(documents.to_pylist(), key=lambda d: d["ordinal"])
        cursor = 0
        for file in ordered:
            table = pq.read_table(file, schema=SCORED_SCHEMA)
            last = table["ordinal"][-1].as_py()
            covered = []
            while cursor < len(metadata) and metadata[cursor]["ordinal"] <= last:
                covered.append({f: metadata[cursor][f] for f in DOCUMENT_FIELDS})
                cursor += 1
            yield table.select(PASSAGE_SCHEMA.names).cast(PASSAGE_SCHEMA), covered
        if cursor < len(metadata):  # documents after the last passage have none
            rest = [{f: d[f] for f in DOCUMENT_FIELDS} for d in metadata[cursor:]]
            yield PASSAGE_SCHEMA.empty_table(), rest

    counts = merge_outputs(paths, parts, problems)
    seconds = time.time() - clock
    manifest = {
        "status": "complete",
        "fingerprint": fingerprint,
        "identity": identity,
        "started": started,
        "finished": utc_now(),
        "engine": "ray",
        "ray": {
            "address": os.environ.get("RAY_ADDRESS") or "local",
            "resources": {
                k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU", "memory")
            },
        },
        "model": {
            "folder": str(model_dir),
            "sha256": model_hash,
            "onnx_graph": onnx_graph,  # the graph every actor loads (verified, then exported)
            # The decision rule travels with the model folder; every actor applies the same one.
            "decision": DecisionRule.from_meta(
                json.loads((Path(model_dir) / "meta.json").read_text(encoding="utf-8"))
            ).as_dict(),
            "cascade": json.loads((Path(model_dir) / "meta.json").read_text(encoding="utf-8")).get(
                "cascade"
            ),
        },
        "config": {"predict": options.model_dump(mode="json")},
        "inputs": list(inputs),
        "outputs": {k: str(v) for k, v in vars(paths).items() if k != "parts"},
        "counts": counts,
        "timings": {
            "seconds": round(seconds, 2),
            "passages_per_second_this_run": round(counts["passages"] / max(seconds, 1e-9), 1),
        },
        "versions": package_versions(("ray", "pyarrow", "trafilatura")),
    }
    write_json(manifest, paths.manifest)
    shutil.rmtree(work, ignore_errors=True)
    return manifest
