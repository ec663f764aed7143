"""What a run will cost, said and checked before any model loads: the method, the parts, the queries.

A template without ``{text}``, an empty text or a budget too small for the method are refused here,
in a fraction of a second, instead of after a language model has loaded for half a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import RunSettings


@dataclass
class Planned:
    """The queries a text explanation will send: the fit's plan, the held-out check, the full-input call."""

    method: str
    n: int
    queries: int
    holdout: int
    notes: list[str]
    #: the fewest queries the method accepts for these parts
    minimum: int = 0

    @property
    def total(self) -> int:
        return self.queries + self.holdout

    def line(self) -> str:
        """E.g. ``512 queries (exact, 9 parts)`` or ``1,280 queries (proxyspex, 20 parts) + 64 held out``."""
        head = f"{self.queries:,} queries ({self.method}, {self.n} parts)"
        return head + (f" + {self.holdout:,} held out to check the fit" if self.holdout else "")


def plan_text(text, settings: RunSettings, *, template=None, tokenizer=None) -> Planned:
    """Check a text explanation's arguments and plan its queries, without the model.

    ``settings.parts == "tokens"`` needs the model's ``tokenizer``; every other unit is cut without it.
    Raises ``ValueError`` (a template without ``{text}``, an empty text) or
    :class:`~spectrex.BudgetError` naming the method chosen and a budget that works.
    """
    from ..models import make_parts
    from ..models.base import check_template

    if template is not None:
        check_template(template)
    n = make_parts(text, settings.parts, tokenizer).n
    return plan_parts(n, settings)


def plan_parts(n: int, settings: RunSettings) -> Planned:
    """The queries of an explanation over ``n`` parts (``settings.holdout`` more unless the method is exact).

    Raises :class:`~spectrex.BudgetError` naming the method chosen and a budget that works.
    """
    from ..api import auto_budget_error, choose_method, get_method
    from ..errors import BudgetError

    method, budget, max_order, seed = settings.method, settings.budget, settings.max_order, settings.seed
    chosen, used_budget, notes = choose_method(n, method, budget)
    est = get_method(chosen)(max_order=max_order, random_state=seed)
    try:
        queries = est.plan(n, used_budget).n_queries
    except BudgetError as exc:
        if budget is None:
            raise
        if method == "auto":
            exc = auto_budget_error(n, budget, exc)
        # the refusal names the least budget that works and the default; the flag's words are added here
        tail = "" if exc.minimum is None else "; leave --budget out for the default"
        raise BudgetError(f"--budget {budget:,} is too small: {exc}{tail}", exc.minimum) from None
    held = 0 if chosen == "exact" else settings.holdout
    return Planned(chosen, n, queries, held, notes, est.minimum_budget(n))
