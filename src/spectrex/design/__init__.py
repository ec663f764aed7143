"""Mask designs: pure functions of (n, budget, order, seed) that never call the model.

Every design of the library lives here, one per kind: :class:`UniformDesign` (uniform and paired
uniform masks; also the held-out faithfulness masks), :class:`SpexSubsampling` (SPEX, BCH-coded),
:class:`AllMasks` (Exact), :class:`ShapleyKernelDesign` (KernelSHAP) and :class:`LimeDesign` (LIME).
"""

from .base import Design, MaskDesign, Plan
from .exhaustive import AllMasks
from .lime import LimeDesign, lime_masks
from .shapley import ShapleyKernelDesign, shapley_kernel_masks
from .spex import SpexSubsampling
from .uniform import UniformDesign, uniform_masks

__all__ = [
    "AllMasks",
    "Design",
    "LimeDesign",
    "MaskDesign",
    "Plan",
    "ShapleyKernelDesign",
    "SpexSubsampling",
    "UniformDesign",
    "lime_masks",
    "shapley_kernel_masks",
    "uniform_masks",
]
