"""`stance predict` as a function: kept for callers of `pipeline.inference.predict`.

The run (fingerprint, resume, merge, manifest) lives in `pipeline.prediction.run`, the row
contract in `pipeline.prediction.rows`, the engines in `pipeline.prediction.local` and
`pipeline.prediction.ray_data`.
"""

from pipeline.prediction.run import predict

__all__ = ["predict"]
