"""Exact transform from all 2^n masks: the reference for small inputs."""

from __future__ import annotations

from ..decoders.exact import ExactDecoder
from ..design.exhaustive import MAX_EXACT_N, AllMasks
from .base import Explainer

__all__ = ["MAX_EXACT_N", "Exact"]


class Exact(Explainer):
    """Query every one of the 2^n masks and return the exact Fourier transform.

    Refuses ``n > 20``; use :class:`~spectrex.SPEX` or :class:`~spectrex.ProxySPEX` there.
    ``max_order`` (default: none) only caps the order of the index view.
    """

    name = "exact"
    interpolates = True

    def design(self) -> AllMasks:
        return AllMasks()

    def decoder(self) -> ExactDecoder:
        return ExactDecoder()
