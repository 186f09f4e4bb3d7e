"""The Ray Data engine: the same shards and rows as the local engine, scored on a Ray cluster.

1. The driver writes the text of each pending shard's documents to a Parquet file under
   `OUT.parts/ray/` (streaming; only document metadata stays in memory).
2. Ray Data runs two `map_batches` stages over one row per shard: segmentation (documents ->
   passages, with the actor dictionary cached per worker) and scoring (an actor pool: each actor
   loads the model once; one GPU per actor when the cluster has GPUs).
3. Scored shards stream back to the driver, where the run writes, resumes and merges them
   exactly as for the local engine.

Each shard is segmented and scored in one call, as the local engine does, so both engines batch
the same passages together and give the same rows, byte for byte.

Point it at a cluster with `RAY_ADDRESS=ray://<head>:10001`; without it a local Ray instance is
started. The inputs and OUT must then be on storage every node can read.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.prediction.rows import DOCUMENT_FIELDS, document_metadata
from pipeline.prediction.run import ScoringSetup, Shard

DOCUMENT_SCHEMA = pa.schema([("text", pa.string()), *[(f, pa.string()) for f in DOCUMENT_FIELDS]])


@functools.lru_cache(maxsize=4)
def cached_actor_dictionary(path: str):
    """The actor dictionary at `path`, read once per Ray worker."""
    from pipeline.actors import ActorDictionary

    return ActorDictionary.from_yaml(path)


def segment_shards(batch: dict, segment: dict, actors: str) -> dict:
    """Ray Data task: each shard's documents file -> its passages (as JSON, every field of
    `Passage`, so context models get `previous` and `headline` too)."""
    from pipeline.articles import Document
    from pipeline.scoring import SegmentOptions, document_passages

    options = SegmentOptions(**segment)
    dictionary = cached_actor_dictionary(actors)
    passages = []
    for file in batch["documents"]:
        documents = [Document(**record) for record in pq.read_table(file).to_pylist()]
        shard = [
            dataclasses.asdict(passage)
            for document in documents
            for passage in document_passages(document, options, dictionary)
        ]
        passages.append(json.dumps(shard, ensure_ascii=False))
    return {"shard": batch["shard"], "passages": passages}


class ShardScorer:
    """Ray Data actor: loads the model once, scores one shard's passages per call."""

    def __init__(
        self,
        model_dir: str,
        backend: str,
        device: str,
        tokens_per_batch: int | None,
        actors: str | None = None,
    ):
        from pipeline.cascade import load_classifier

        self.classifier = load_classifier(
            model_dir, device=device, backend=backend, tokens_per_batch=tokens_per_batch
        )
        # The run's dictionary, for the party extractor's canonical names (as the local engine).
        self.actors = cached_actor_dictionary(actors) if actors else None

    def __call__(self, batch: dict) -> dict:
        from pipeline.prediction.rows import Passage
        from pipeline.scoring import score_passages

        rows = []
        for passages in batch["passages"]:
            # JSON turns tuples into lists; Passage is frozen and hashed by value.
            shard = [
                Passage(
                    **{
                        **record,
                        "context": tuple(record.get("context", ())),
                        "document_parties": tuple(record.get("document_parties", ())),
                    }
                )
                for record in json.loads(passages)
            ]
            # JSON keeps floats exactly (shortest repr round-trips), so rows arrive unchanged.
            scored = score_passages(self.classifier, shard, self.actors)
            rows.append(json.dumps(scored, ensure_ascii=False))
        return {"shard": batch["shard"], "rows": rows}


class RayEngine:
    """Scores shards with Ray Data (see `pipeline.prediction.run.Engine`)."""

    name = "ray"
    packages = ("ray",)

    def __init__(self, actors_per_node: int | None = None):
        self.actors_per_node = actors_per_node
        self.gpus = 0

    def prepare(self, device: str) -> str:
        """Start (or join) Ray; the driver's model runs where the actors will."""
        import ray

        if not ray.is_initialized():
            ray.init(
                address=os.environ.get("RAY_ADDRESS"),
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        self.gpus = int(ray.cluster_resources().get("GPU", 0))
        return "cuda" if self.gpus > 0 and device != "cpu" else "cpu"

    def describe(self) -> dict:
        import ray

        resources = ray.cluster_resources()
        return {
            "ray": {
                "address": os.environ.get("RAY_ADDRESS") or "local",
                "resources": {k: v for k, v in resources.items() if k in ("CPU", "GPU", "memory")},
            }
        }

    def score_shards(
        self, shards: Iterator[Shard], setup: ScoringSetup
    ) -> Iterator[tuple[Shard, list[dict]]]:
        """Yield each shard with its scored rows, in order, as Ray finishes them."""
        import ray

        shutil.rmtree(setup.work, ignore_errors=True)
        setup.work.mkdir(parents=True)
        pending = [self._stage(shard, setup.work) for shard in shards]
        if not pending:
            return
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = setup.progress
        use_gpu = setup.device == "cuda"
        dataset = ray.data.from_items(
            [{"shard": shard.number, "documents": str(file)} for shard, file in pending]
        )
        dataset = dataset.map_batches(
            segment_shards,
            fn_kwargs={
                "segment": dataclasses.asdict(setup.segment),
                "actors": str(setup.actors_path),
            },
            batch_size=1,
        )
        dataset = dataset.map_batches(
            ShardScorer,
            fn_constructor_kwargs={
                "model_dir": str(setup.model_dir.resolve()),
                "backend": setup.classifier.backend,  # as resolved (and exported) by the driver
                "device": setup.device,
                "tokens_per_batch": setup.options.tokens_per_batch,
                "actors": str(setup.actors_path),
            },
            batch_size=1,
            concurrency=self.actors_per_node or max(self.gpus, 1),
            num_gpus=1 if use_gpu else 0,
        )
        by_number = {shard.number: shard for shard, _ in pending}
        arrived: dict[int, list[dict]] = {}
        expected = iter(shard.number for shard, _ in pending)
        number = next(expected)
        for record in dataset.iter_rows():
            arrived[int(record["shard"])] = json.loads(record["rows"])
            # Hand shards on in order, so the run can write them as they finish and resume.
            while number is not None and number in arrived:
                yield by_number.pop(number), arrived.pop(number)
                number = next(expected, None)
        shutil.rmtree(setup.work, ignore_errors=True)

    @staticmethod
    def _stage(shard: Shard, work: Path) -> tuple[Shard, Path]:
        """Write a shard's documents for the Ray workers; keep only their metadata here."""
        file = work / f"documents-{shard.number:06d}.parquet"
        records = [{"text": d.text, **document_metadata(d)} for d in shard.documents]
        pq.write_table(pa.Table.from_pylist(records, schema=DOCUMENT_SCHEMA), file)
        light = [dataclasses.replace(d, text="") for d in shard.documents]
        return dataclasses.replace(shard, documents=light), file
