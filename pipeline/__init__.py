"""Stance toward talks in news passages: accept, reject, conditional or none.

Public API only. Importing the package loads no model and no deep-learning framework; torch and
transformers are imported when a model is trained or loaded.
"""

from pipeline.classifier import StanceClassifier
from pipeline.evaluation import evaluate_run as evaluate
from pipeline.inference import predict
from pipeline.labels import LABEL_DEFINITIONS, LABELS
from pipeline.training import train

__all__ = ["LABELS", "LABEL_DEFINITIONS", "StanceClassifier", "evaluate", "predict", "train"]
__version__ = "0.1.0"
