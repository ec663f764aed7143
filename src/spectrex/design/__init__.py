"""Mask designs: pure functions of (n, budget, order, seed) that never call the model."""

from .uniform import uniform_masks

__all__ = ["uniform_masks"]
