"""The Ray engine on a local Ray instance gives the local engine's rows, in the same order."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from pipeline.config import PredictConfig
from pipeline.inference import predict

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_results_equal_local_results(local_ray, trained_toy_model, tmp_path):
    from pipeline.ray_engine import predict_with_ray

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "r.jsonl").write_text('{"id": "a", "text": "They refused all talks."}\n{"id": "b"}\n')
    inputs = [str(REPO / "annotations/sources"), str(bad)]
    options = PredictConfig(actors=str(REPO / "configs/actors.yaml"), documents_per_shard=2)
    model = str(trained_toy_model.model_dir)
    local = predict(
        model, inputs, tmp_path / "local" / "p.jsonl", options, device="cpu", progress=False
    )
    distributed = predict_with_ray(
        model, inputs, tmp_path / "ray" / "p.jsonl", options, device="cpu", progress=False
    )
    assert distributed["engine"] == "ray"
    for name in ("jsonl", "articles.jsonl", "actors.csv", "dyads.csv", "errors.jsonl"):
        assert (tmp_path / "ray" / f"p.{name}").read_bytes() == (
            tmp_path / "local" / f"p.{name}"
        ).read_bytes(), name
    assert comparable_manifest(distributed) == comparable_manifest(local)
    assert distributed["model"]["labels"] and distributed["model"]["backend"]
    again = predict_with_ray(
        model, inputs, tmp_path / "ray" / "p.jsonl", options, device="cpu", progress=False
    )
    assert again == {**distributed, "already_complete": True}


def comparable_manifest(manifest: dict) -> dict:
    """A manifest without what differs by engine, clock or output path."""
    engine_keys = ("engine", "ray", "started", "finished", "timings", "versions", "fingerprint")
    kept = {k: v for k, v in manifest.items() if k not in (*engine_keys, "outputs")}
    kept["identity"] = {k: v for k, v in manifest["identity"].items() if k != "output"}
    return kept


def test_ray_segmentation_keeps_title_and_previous_sentence_for_context_models(tmp_path):
    """Passages shipped between Ray stages carry every field, so context models read them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.prediction.ray_data import DOCUMENT_SCHEMA, segment_shards

    file = tmp_path / "documents.parquet"
    document = {"doc_id": "d", "text": "Talks resumed. Hamas refused them.", "title": "Headline"}
    pq.write_table(pa.Table.from_pylist([document], schema=DOCUMENT_SCHEMA), file)
    out = segment_shards(
        {"shard": [0], "documents": [str(file)]},
        segment={"unit": "sentence", "window": 1, "stride": None, "holder_context_sentences": 3},
        actors=str(REPO / "configs/actors.yaml"),
    )
    passages = json.loads(out["passages"][0])
    assert [p["headline"] for p in passages] == ["Headline", "Headline"]
    assert [p["previous"] for p in passages] == ["", "Talks resumed."]
