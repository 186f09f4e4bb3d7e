"""Stance toward talks in news passages: accept, reject, conditional or none.

Public API only; importing the package loads no model and no heavy dependency.
"""

from pipeline.classifier import StanceClassifier
from pipeline.labels import LABEL_DEFINITIONS, LABELS

__all__ = ["LABELS", "LABEL_DEFINITIONS", "StanceClassifier"]
__version__ = "0.1.0"
