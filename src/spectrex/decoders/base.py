"""The decoder protocol: ``(plan, masks, values, max_order) → (SparseTransform, diagnostics)``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..design.base import Plan
from ..transforms.sparse import SparseTransform


@runtime_checkable
class Decoder(Protocol):
    """Reads the values of a plan's masks into a sparse transform; never sees the model.

    ``masks`` and ``values`` are the answered rows: all of ``plan.masks`` for a structured design,
    the rows the engine did not drop for a sampling one. The diagnostics dict is recorded under
    ``metadata["diagnostics"]``. ``min_rows`` is the fewest answered rows it can read (1 when absent).
    """

    min_rows: int

    def __call__(
        self, plan: Plan, masks: np.ndarray, values: np.ndarray, max_order: int | None
    ) -> tuple[SparseTransform, dict]: ...
