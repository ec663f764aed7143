"""Pure-numpy math: bit-packed supports, sparse Fourier/Möbius transforms, indices, dense oracles."""

from .indices import INDICES, canonical_index, convert
from .sparse import SparseTransform
from .wht import all_masks, exact_fourier, exact_mobius, fwht

__all__ = [
    "INDICES",
    "SparseTransform",
    "all_masks",
    "canonical_index",
    "convert",
    "exact_fourier",
    "exact_mobius",
    "fwht",
]
