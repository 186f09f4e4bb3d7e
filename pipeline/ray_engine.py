"""`stance predict --engine ray` as a function: kept for callers of `predict_with_ray`.

The engine itself is `pipeline.prediction.ray_data.RayEngine`; the run around it is the same
`pipeline.prediction.run.predict` the local engine uses.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.config import PredictConfig
from pipeline.prediction.run import predict


def predict_with_ray(
    model_dir: str | Path,
    inputs: list[str],
    output: str | Path,
    options: PredictConfig,
    *,
    actors_per_node: int | None = None,
    **run_options,
) -> dict:
    """Score `inputs` with Ray Data; same outputs, rows, order and manifest as the local engine.
    `run_options` (`device`, `progress`, `overwrite`) are those of
    `pipeline.prediction.run.predict`."""
    from pipeline.prediction.ray_data import RayEngine

    return predict(
        model_dir, inputs, output, options, engine=RayEngine(actors_per_node), **run_options
    )
