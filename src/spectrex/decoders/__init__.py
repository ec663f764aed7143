"""Decoders: masks + values → sparse transform. Pure numpy; they never see a model."""

from .refit import refit, ridge_gcv

__all__ = ["refit", "ridge_gcv"]
