"""The query engine: every estimator's masks reach the model through here.

``QueryEngine`` holds the settings; ``engine.bind(value_fn, n)`` returns a ``Query`` — a plain
callable ``masks -> values`` that batches, removes duplicate masks, validates the model's output
under the contract and counts what it did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..contract import check_masks, check_values
from ..transforms import bitset


@dataclass
class QueryStats:
    """What a bound query did: rows asked for, unique rows sent to the model, seconds in the model."""

    requested: int = 0
    sent: int = 0
    cached: int = 0
    model_seconds: float = 0.0


class Query:
    """A value function bound to an engine for one explanation of ``n`` parts."""

    def __init__(self, engine: QueryEngine, value_fn, n: int) -> None:
        if not callable(value_fn):
            raise TypeError(f"value_fn must be callable (masks -> floats), got {type(value_fn).__name__}")
        self.engine, self.value_fn, self.n = engine, value_fn, n
        self.stats = QueryStats()
        self._memo: dict[bytes, float] = {}

    def __call__(self, masks) -> np.ndarray:
        masks = check_masks(masks, self.n)
        q = masks.shape[0]
        self.stats.requested += q
        if q == 0:
            return np.zeros(0)
        bits = bitset.pack(masks)
        uniq, first, inverse = np.unique(bits, axis=0, return_index=True, return_inverse=True)
        keys = [row.tobytes() for row in uniq]
        known = np.array([k in self._memo for k in keys], dtype=bool)
        values = np.empty(len(uniq))
        values[known] = [self._memo[k] for k, kn in zip(keys, known) if kn]
        self.stats.cached += int(known.sum())
        todo = np.flatnonzero(~known)
        bs = self.engine.batch_size
        for lo in range(0, todo.size, bs):
            rows = todo[lo : lo + bs]
            batch = masks[first[rows]]
            t0 = time.perf_counter()
            out = check_values(self.value_fn(batch), len(rows))
            self.stats.model_seconds += time.perf_counter() - t0
            self.stats.sent += len(rows)
            values[rows] = out
            for r, v in zip(rows, out):
                self._memo[keys[r]] = float(v)
        return values[inverse.reshape(-1)]


class QueryEngine:
    """Settings for running masks through a value function.

    Parameters
    ----------
    batch_size : int, default 256
        Masks per call of the value function.
    """

    def __init__(self, batch_size: int = 256) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)

    def bind(self, value_fn, n: int) -> Query:
        return Query(self, value_fn, n)
