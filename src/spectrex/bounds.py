"""Refuse, before anything large is allocated, a run whose masks and design would not fit in memory.

The estimate counts the mask design as boolean masks plus one float64 feature per part and query
(what the decoders build), and the pairwise design of the order-2 LASSO. The limit is half of this
machine's memory, or ``$SPECTREX_MAX_MEMORY_GB``.
"""

from __future__ import annotations

import os

from .errors import ResourceError

__all__ = ["ResourceError", "check_design", "design_bytes", "memory_limit"]

#: bytes the design costs per (query, part) cell: a bool mask and two float64 copies (features, decoder)
BYTES_PER_CELL = 17


def memory_limit() -> int:
    """Bytes a run may plan for: ``$SPECTREX_MAX_MEMORY_GB`` GiB, else half the physical memory."""
    env = os.environ.get("SPECTREX_MAX_MEMORY_GB")
    if env:
        try:
            return int(float(env) * 2**30)
        except ValueError:
            raise ValueError(f"SPECTREX_MAX_MEMORY_GB must be a number of GiB, got {env!r}") from None
    try:
        return int(0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 16 * 2**30


def _gib(b: float) -> str:
    return f"{b / 2**30:,.1f} GiB"


def design_bytes(n: int, budget: int, pairwise: bool = False) -> int:
    """Estimated bytes of a design of ``budget`` masks over ``n`` parts (order-2 features when ``pairwise``)."""
    cells = budget * n
    if pairwise:
        cells += budget * n * (n - 1) // 2 * 8
    return BYTES_PER_CELL * cells


def check_design(n: int, budget: int, method: str, pairwise: bool = False, knob: str = "budget") -> None:
    """Raise :class:`ResourceError` with the estimate and what to lower when the design would not fit.

    ``knob`` names the setting that asked for ``budget`` masks (``"budget"``, ``"holdout"``).
    """
    need, limit = design_bytes(n, budget, pairwise), memory_limit()
    if need <= limit:
        return
    fit = max(1, limit // max(1, need // max(budget, 1)))
    raise ResourceError(
        f"{method} with n = {n:,} parts and a {knob} of {budget:,} queries would need about {_gib(need)} of memory "
        f"for its masks and design, over this machine's {_gib(limit)}; lower the {knob} (to at most {fit:,}) or "
        "use fewer parts (e.g. --parts sentences for a long text, a coarser --grid or fewer --superpixels for an "
        "image), or raise SPECTREX_MAX_MEMORY_GB",
        need,
        limit,
    )


#: the largest result file :meth:`Interactions.from_json` reads (a result of 20,000 terms is a few MiB)
MAX_RESULT_BYTES = 256 * 2**20


def check_result(n: int, n_terms: int, expanded: int, where: str) -> None:
    """Refuse, before allocating, a result whose terms over ``n`` parts would not fit in memory.

    ``expanded`` is how many subsets the index view expands the terms into (0 when the stored
    index is the transform's own basis); each term or subset is a bit set of ``n`` parts.
    """
    from .transforms.bitset import n_words
    from .transforms.sparse import MAX_EXPANSION

    row = 8 * n_words(n) + 8  # a packed subset and its float64 value
    need, limit = 2 * row * (n_terms + expanded), memory_limit()  # ×2: the canonical (sorted) copy
    if need <= limit and expanded <= MAX_EXPANSION:
        return
    view = f" expanded into {expanded:,} subsets for its index view" if expanded else ""
    raise ResourceError(
        f"{where} holds {n_terms:,} terms over n = {n:,} parts{view}: reading it would need about {_gib(need)} "
        f"of memory, over this machine's {_gib(limit)}; check the file (spectrex writes one label per part and "
        "its terms in their own basis), or raise SPECTREX_MAX_MEMORY_GB for a result that large",
        need,
        limit,
    )
