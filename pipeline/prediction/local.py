"""The local engine: shards scored one after another in this process.

Reading and segmenting the next shard overlaps with scoring this one on a worker thread
(tokenizers and torch release the GIL), which keeps a GPU fed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from pipeline.prediction.run import ScoringSetup, Shard
from pipeline.scoring import document_passages, score_passages


class LocalEngine:
    """Scores shards in this process (see `pipeline.prediction.run.Engine`)."""

    name = "local"
    packages: tuple[str, ...] = ()

    def prepare(self, device: str) -> str:
        return device

    def describe(self) -> dict:
        return {}

    def score_shards(
        self, shards: Iterator[Shard], setup: ScoringSetup
    ) -> Iterator[tuple[Shard, list[dict]]]:
        """Yield each shard with its scored passage rows, in order."""

        def next_prepared():
            """Read the next shard and cut it into passages (runs on the worker thread)."""
            shard = next(shards, None)
            if shard is None:
                return None
            passages = [
                passage
                for document in shard.documents
                for passage in document_passages(document, setup.segment, setup.actors)
            ]
            return shard, passages

        with ThreadPoolExecutor(max_workers=1) as pool:
            upcoming = pool.submit(next_prepared)
            while (prepared := upcoming.result()) is not None:
                upcoming = pool.submit(next_prepared)
                shard, passages = prepared
                yield shard, score_passages(setup.classifier, passages, setup.actors)
