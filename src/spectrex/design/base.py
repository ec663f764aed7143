"""The design protocol: ``(n, budget, max_order, rng) → Plan``, the masks a method will query.

A design never sees the model: its masks are a pure function of its inputs, so the number of
queries is known before the first one is made (:meth:`spectrex.Explainer.plan`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import BudgetError


@dataclass(frozen=True, eq=False)
class Plan:
    """The masks of one explanation and what the driver and the decoder need to read them.

    Attributes
    ----------
    masks : ndarray of bool, shape (q, n)
        Every mask to query, in the order the decoder expects the values.
    every_row : bool
        True for structured designs (the decoder needs the value of every row: a dropped row is an
        error); False for sampling designs (a dropped row only costs a sample).
    minimum, default : int
        The least budget the design accepts and the budget used when none is given.
    budget : int
        The budget the masks were drawn for.
    prefixes : tuple of int
        Nested row counts (increasing, the last = ``q``) at which a sampling design is itself a valid
        smaller design: the rounds of an adaptive budget. Empty for structured designs.
    structure : Any
        What the decoder needs beyond the masks (e.g. the SPEX subsampling matrices), or None.
    rng : numpy Generator
        The design's generator after it drew the masks; decoders that randomise (CV folds, a
        proxy's seed) continue it, so one seed fixes the whole run.
    """

    masks: np.ndarray
    every_row: bool
    minimum: int
    default: int
    budget: int
    prefixes: tuple[int, ...] = ()
    structure: Any = None
    rng: np.random.Generator | None = None

    @property
    def n_queries(self) -> int:
        """Rows of the design (the engine sends each distinct mask once)."""
        return int(self.masks.shape[0])


@runtime_checkable
class Design(Protocol):
    """What every mask design provides (see :class:`MaskDesign` for the usual implementation)."""

    def minimum_budget(self, n: int, max_order: int | None) -> int: ...

    def default_budget(self, n: int, max_order: int | None) -> int: ...

    def budget(self, n: int, budget: int | None, max_order: int | None) -> int:
        """The budget the plan will use: the default for None; a refusal naming the minimum when too small."""
        ...

    def plan(self, n: int, budget: int | None, max_order: int | None, rng: np.random.Generator) -> Plan: ...


class MaskDesign(ABC):
    """A design with a budget rule: the default when none is given, and a minimum named when refused.

    Subclasses implement :meth:`minimum_budget`, :meth:`default_budget` and :meth:`draw`; set
    ``every_row`` (structured designs) and ``nested`` (rows are i.i.d. draws, so any prefix is a
    smaller design of the same kind).
    """

    #: the decoder needs every row (a dropped row is an error)
    every_row: bool = False
    #: any prefix of the rows is itself a design of this kind (adaptive budgets)
    nested: bool = False
    #: the name of the method in messages
    method: str = "this method"

    @abstractmethod
    def minimum_budget(self, n: int, max_order: int | None) -> int:
        """Fewest queries the design accepts for ``n`` parts."""

    @abstractmethod
    def default_budget(self, n: int, max_order: int | None) -> int:
        """Queries used when no budget is given."""

    @abstractmethod
    def draw(self, n: int, budget: int, max_order: int | None, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
        """The masks for a checked budget, and the structure the decoder needs (or None)."""

    def budget(self, n: int, budget: int | None, max_order: int | None) -> int:
        """``budget``, or the default when None; a :class:`~spectrex.BudgetError` naming the minimum when too small."""
        default = self.default_budget(n, max_order)
        if budget is None:
            return default
        minimum = self.minimum_budget(n, max_order)
        if budget < minimum:
            raise BudgetError(
                f"{self.method} needs at least {minimum:,} queries for n = {n} parts{self.why_minimum(n)} "
                f"but the budget is {budget:,}; "
                f"raise the budget to {minimum:,} or more (default for n = {n}: {default:,})",
                minimum=minimum,
            )
        return int(budget)

    def why_minimum(self, n: int) -> str:
        """A clause saying where the minimum comes from (for the refusal's message)."""
        return ""

    def plan(self, n: int, budget: int | None, max_order: int | None, rng: np.random.Generator) -> Plan:
        """The masks for ``n`` parts and ``budget`` (None: the default), drawn from ``rng``."""
        budget = self.budget(n, budget, max_order)
        masks, structure = self.draw(n, budget, max_order, rng)
        prefixes = doubling(len(masks), self.minimum_budget(n, max_order)) if self.nested else ()
        return Plan(
            masks=masks,
            every_row=self.every_row,
            minimum=self.minimum_budget(n, max_order),
            default=self.default_budget(n, max_order),
            budget=budget,
            prefixes=prefixes,
            structure=structure,
            rng=rng,
        )


def doubling(total: int, least: int) -> tuple[int, ...]:
    """Row counts ``max(least, total // 8)``, doubling, then ``total``: the rounds of an adaptive budget."""
    sizes, size = [], max(least, total // 8)
    while size < total:
        sizes.append(size)
        size *= 2
    return (*sizes, total)
