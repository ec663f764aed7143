"""SPEX (Kang et al., ICML 2025): sparse Fourier recovery with BCH-coded subsampling, then a refit."""

from __future__ import annotations

from ..decoders.spex import SpexDecoder
from ..design.spex import DEFAULT_GROUPS, SpexSubsampling
from ..engine import QueryEngine
from ..validate import check_whole
from .base import Explainer


class SPEX(Explainer):
    """Sparse spectral explanation: recover a sparse, low-order Fourier transform from few queries.

    The masks are fixed before any query (a pure function of ``n``, ``budget``, ``max_order`` and
    ``random_state``): ``C`` random subsampling groups of ``2^b`` masks, each shifted by the zero delay
    and the ``P`` parity rows of a BCH code correcting ``max_order`` errors. ``b`` is the largest that
    fits in the budget; :meth:`plan` says how many queries that is before querying. The decoder peels
    singletons (soft-decision BCH decoding) and refits the support found on all queries (ridge, GCV).

    Parameters
    ----------
    max_order : int, optional
        Highest interaction order recovered (the BCH code's ``t``); default 5.
    index, random_state, engine
        See :class:`~spectrex.Explainer`.
    groups : int, default 3
        Number of subsampling groups ``C``.
    chase_depth : int, optional
        Least reliable parity bits flipped by Chase decoding (default ``2·max_order``, at most 10).
    max_rounds : int, default 30
        Peeling rounds at most.

    Notes
    -----
    When the function is not sparse or not low-order enough for the budget some bins stay
    unresolved: SPEX warns (``RuntimeWarning``) and returns the best fit of what it found.
    """

    name = "spex"
    #: the reference implementation's default
    default_order = 5

    def __init__(
        self,
        max_order: int | None = None,
        index: str = "Moebius",
        random_state=None,
        engine: QueryEngine | None = None,
        *,
        groups: int = DEFAULT_GROUPS,
        chase_depth: int | None = None,
        max_rounds: int = 30,
    ):
        super().__init__(max_order=max_order, index=index, random_state=random_state, engine=engine)
        if max_order == 0:
            raise ValueError("SPEX needs max_order ≥ 1 (order 0 is just the mean; query it directly)")
        check_whole("groups", groups, 1)
        check_whole("chase_depth", chase_depth, 1, optional=True)
        check_whole("max_rounds", max_rounds, 1)
        # stored as given (scikit-learn's clone checks that)
        self.groups, self.chase_depth, self.max_rounds = groups, chase_depth, max_rounds

    def design(self) -> SpexSubsampling:
        return SpexSubsampling(int(self.groups))

    def decoder(self) -> SpexDecoder:
        return SpexDecoder(None if self.chase_depth is None else int(self.chase_depth), int(self.max_rounds))
