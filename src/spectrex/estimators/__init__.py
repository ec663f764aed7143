"""Estimators: each method = a mask design + a decoder, run through the query engine."""

from .base import Explainer
from .exact import Exact

__all__ = ["Exact", "Explainer"]
