"""SPEX's query design (Kang et al., ICML 2025): random subsampling aliased by a BCH-coded set of delays.

For ``C`` groups, a random ``H_c ∈ F2^(b×n)`` and delays ``d_0 = 0, d_1 … d_P`` (the rows of the BCH
parity matrix, :mod:`spectrex.design.bch`), the design queries every mask

    m = H_c^T ℓ ⊕ d_p        for all ℓ ∈ F2^b,  p = 0 … P,  c = 1 … C

(True = part kept). With ``f(m) = Σ_K F(K) (-1)^{|K∩m|}`` the length-``2^b`` WHT over ``ℓ`` gives

    U_{c,p}(j) = 2^{-b} Σ_ℓ (-1)^{⟨ℓ,j⟩} f(H_c^T ℓ ⊕ d_p) = Σ_{K : H_c K = j} F(K) (-1)^{⟨d_p, K⟩},

so each bin ``j`` aliases the coefficients hashed to it and, for a single one (a singleton), the signs
across delays are the BCH parity bits of ``K``. The design is a pure function of
``(n, budget, t, seed)``: it never sees the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..errors import BudgetError
from .base import MaskDesign
from .bch import BCHCode, bch_code

log = logging.getLogger(__name__)

#: number of subsampling groups (the paper's C)
DEFAULT_GROUPS = 3
#: smallest and largest subsampling dimension b (2^b bins per group)
MIN_B = 3
MAX_B = 20
#: b used when no budget is given
DEFAULT_B = 8


@dataclass(frozen=True, eq=False)
class SpexDesign:
    """The masks SPEX will query, and the structure the decoder needs to read them.

    Attributes
    ----------
    n, t, b : int
        Parts, correctable order (BCH ``t``), subsampling dimension (``2^b`` bins per group).
    H : ndarray of bool, shape (C, b, n)
        Subsampling matrices.
    code : BCHCode
        The BCH code whose parity matrix gives the delays.
    """

    n: int
    t: int
    b: int
    H: np.ndarray
    code: BCHCode

    @property
    def groups(self) -> int:
        return int(self.H.shape[0])

    @property
    def delays(self) -> np.ndarray:
        """``(P + 1, n)`` boolean delays: the zero delay, then the BCH parity rows."""
        return np.concatenate([np.zeros((1, self.n), dtype=bool), self.code.parity], axis=0)

    @property
    def n_delays(self) -> int:
        return self.code.r + 1

    @property
    def n_queries(self) -> int:
        """Number of masks (rows) the design queries: ``C · (P + 1) · 2^b``."""
        return self.groups * self.n_delays * (1 << self.b)

    @property
    def columns(self) -> np.ndarray:
        """``(C, n)`` int64: column ``i`` of ``H_c`` as a b-bit integer (bin of part ``i``'s singleton)."""
        weights = np.left_shift(np.int64(1), np.arange(self.b, dtype=np.int64))
        return (self.H.astype(np.int64) * weights[None, :, None]).sum(axis=1)

    def masks(self) -> np.ndarray:
        """All query masks, ``(C · (P+1) · 2^b, n)`` boolean, in (group, delay, ℓ) order; ℓ's bit i = row i of H_c."""
        ell = ((np.arange(1 << self.b)[:, None] >> np.arange(self.b)) & 1).astype(np.uint8)  # (2^b, b)
        out = np.empty((self.groups, self.n_delays, 1 << self.b, self.n), dtype=bool)
        delays = self.delays
        for c in range(self.groups):  # C = 3 groups: a loop over groups, not queries
            base = (ell @ self.H[c].astype(np.uint8)) & 1  # (2^b, n) = H_c^T ℓ for every ℓ
            np.not_equal(base[None, :, :].astype(bool), delays[:, None, :], out=out[c])
        return out.reshape(-1, self.n)


def queries_for(n: int, b: int, t: int, groups: int = DEFAULT_GROUPS) -> int:
    """Queries used by the design with subsampling dimension ``b``."""
    return groups * (bch_code(n, t).r + 1) * (1 << b)


def minimum_budget(n: int, t: int, groups: int = DEFAULT_GROUPS) -> int:
    """Fewest queries SPEX accepts for ``n`` parts at order ``t`` (``b = 3``, or ``b = n`` for tiny n)."""
    return queries_for(n, min(MIN_B, n), t, groups)


def choose_b(n: int, budget: int | None, t: int, groups: int = DEFAULT_GROUPS) -> int:
    """Largest ``b`` whose design fits in ``budget`` (``DEFAULT_B`` when no budget), capped at ``min(n, 20)``.

    Raises
    ------
    BudgetError
        When even the smallest design does not fit; the message names that minimum.
    """
    top = min(n, MAX_B)
    if budget is None:
        return min(DEFAULT_B, top)
    per_bin = groups * (bch_code(n, t).r + 1)
    least = min(MIN_B, n)
    minimum = per_bin << least
    if budget < minimum:
        raise BudgetError(
            f"SPEX needs at least {minimum:,} queries for n = {n} at max_order = {t} "
            f"({groups} groups × {per_bin // groups} delays × 2^{least} bins) but the budget is {budget:,}; "
            f"raise the budget to {minimum:,} or more, or lower max_order",
            minimum=minimum,
        )
    b = least
    while b < top and per_bin << (b + 1) <= budget:
        b += 1
    return b


def spex_design(n: int, budget: int | None, t: int, random_state=None, *, groups: int = DEFAULT_GROUPS) -> SpexDesign:
    """Build the SPEX design for ``n`` parts, order ``t`` and a query budget (pure: never calls a model).

    Parameters
    ----------
    n : int
        Number of parts.
    budget : int or None
        Most queries; ``b`` is the largest that fits (``None``: ``b = 8``).
    t : int
        Highest interaction order the delays can decode (the BCH code corrects ``t`` errors).
    random_state : int, Generator or None
        Seed of the subsampling matrices; a fixed value gives the same masks every time.
    groups : int, default 3
        Number of subsampling groups ``C``.

    Returns
    -------
    SpexDesign
        ``design.n_queries`` is known before any query; ``design.masks()`` lists them.
    """
    if t < 1:
        raise ValueError(f"SPEX needs max_order ≥ 1, got {t}")
    if groups < 1:
        raise ValueError(f"groups must be ≥ 1, got {groups}")
    code = bch_code(int(n), int(t))
    b = choose_b(int(n), budget, int(t), groups)
    rng = np.random.default_rng(random_state)
    H = rng.random((groups, b, n)) < 0.5
    H.setflags(write=False)
    return SpexDesign(n=int(n), t=int(t), b=b, H=H, code=code)


class SpexSubsampling(MaskDesign):
    """SPEX's design as a :class:`~spectrex.design.base.MaskDesign`: ``plan.structure`` is the :class:`SpexDesign`.

    Structured (the decoder reads every row). ``max_order`` is the BCH code's ``t``; an order the
    code cannot reach for ``n`` parts is refused naming the largest one that works.
    """

    every_row = True
    method = "SPEX"

    def __init__(self, groups: int = DEFAULT_GROUPS):
        self.groups = groups

    def minimum_budget(self, n: int, max_order: int | None) -> int:
        return self._supported(n, max_order, lambda t: minimum_budget(n, t, self.groups))

    def default_budget(self, n: int, max_order: int | None) -> int:
        return self._supported(n, max_order, lambda t: queries_for(n, min(DEFAULT_B, n, MAX_B), t, self.groups))

    def budget(self, n: int, budget: int | None, max_order: int | None) -> int:
        # the minimum is checked by choose_b, whose message names the design's shape
        return self.default_budget(n, max_order) if budget is None else int(budget)

    def draw(self, n: int, budget: int, max_order: int | None, rng: np.random.Generator):
        design = self._supported(n, max_order, lambda t: spex_design(n, budget, t, rng, groups=self.groups))
        log.info(
            "SPEX: %s queries (%d groups × %d delays × 2^%d) for n = %d at max_order = %d",
            f"{design.n_queries:,}",
            design.groups,
            design.n_delays,
            design.b,
            n,
            design.t,
        )
        return design.masks(), design

    def _supported(self, n: int, order: int, build):
        """``build(order)``, or a clear error naming the largest order the BCH design supports for ``n``."""
        try:
            return build(order)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, ValueError) and "BCH" not in str(exc) and "GF(" not in str(exc):
                raise
        top = 0
        for t in range(min(order - 1, 16), 0, -1):
            try:
                minimum_budget(n, t, self.groups)
            except (OverflowError, ValueError):
                continue
            top = t
            break
        raise ValueError(
            f"SPEX max_order = {order} is beyond what its BCH code design supports for n = {n} parts"
            + (f"; use max_order ≤ {top}" if top else "; use fewer parts")
            + " (or method='proxyspex', which has no such limit)"
        )
