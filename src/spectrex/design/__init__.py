"""Mask designs: pure functions of (n, budget, order, seed) that never call the model.

Every design of the library lives here, one per kind: :class:`UniformDesign` (uniform and paired
uniform masks; also the held-out faithfulness masks, :func:`holdout_masks`), :class:`AllMasks`
(Exact), :class:`ShapleyKernelDesign` (KernelSHAP), :class:`LimeDesign` (LIME) and
:class:`spectrex.design.spex.SpexSubsampling` (SPEX, BCH-coded; imported from its module because its
BCH decoder loads numba).
"""

from .base import Design, MaskDesign, Plan
from .exhaustive import AllMasks
from .lime import LimeDesign, lime_masks
from .shapley import ShapleyKernelDesign, shapley_kernel_masks
from .uniform import UniformDesign, holdout_masks, uniform_masks

__all__ = [
    "AllMasks",
    "Design",
    "LimeDesign",
    "MaskDesign",
    "Plan",
    "ShapleyKernelDesign",
    "UniformDesign",
    "lime_masks",
    "shapley_kernel_masks",
    "holdout_masks",
    "uniform_masks",
]
