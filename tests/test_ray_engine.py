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
    assert distributed["counts"] == local["counts"]
    local_rows = [json.loads(x) for x in (tmp_path / "local/p.jsonl").open()]
    ray_rows = [json.loads(x) for x in (tmp_path / "ray/p.jsonl").open()]
    assert [r["passage_id"] for r in ray_rows] == [r["passage_id"] for r in local_rows]
    assert [r["label"] for r in ray_rows] == [r["label"] for r in local_rows]
    assert [r["holder"] for r in ray_rows] == [r["holder"] for r in local_rows]
    for a, b in zip(ray_rows, local_rows):
        assert abs(a["p_accept"] - b["p_accept"]) < 1e-4
    for name in ("articles.jsonl", "errors.jsonl"):
        ray_lines = [json.loads(x) for x in (tmp_path / "ray" / f"p.{name}").open()]
        local_lines = [json.loads(x) for x in (tmp_path / "local" / f"p.{name}").open()]
        for a, b in zip(ray_lines, local_lines, strict=True):
            for key in a:
                if key != "strongest_passages":  # confidences may differ in the 6th decimal
                    assert a[key] == b[key], (name, key)
    assert (tmp_path / "ray/p.actors.csv").read_text().splitlines()[0] == (
        tmp_path / "local/p.actors.csv"
    ).read_text().splitlines()[0]
