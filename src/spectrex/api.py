"""One-call entry point: ``spectrex.explain(value_fn, n, method=…)``."""

from __future__ import annotations

import inspect
from importlib import import_module

from .console import note
from .contract import check_n
from .errors import BudgetError
from .explanations import Explanations
from .interactions import Interactions
from .validate import is_whole

# method name → "module:Class"; imported on first use so optional methods cost nothing
METHODS: dict[str, str | type] = {
    "exact": "spectrex.estimators.exact:Exact",
    "lasso": "spectrex.estimators.baselines:LASSO",
    "lasso1": "spectrex.estimators.baselines:LASSO",
    "lasso2": "spectrex.estimators.baselines:FaithBanzhaf",
    "faithbanzhaf": "spectrex.estimators.baselines:FaithBanzhaf",
    "kernelshap": "spectrex.estimators.baselines:KernelSHAP",
    "banzhaf": "spectrex.estimators.baselines:BanzhafMSR",
    "lime": "spectrex.estimators.baselines:LIME",
    "proxyspex": "spectrex.estimators.proxyspex:ProxySPEX",
    "spex": "spectrex.estimators.spex:SPEX",
}

#: the method when none is named: Exact while its 2^n masks fit, else ProxySPEX (see :func:`choose_method`)
DEFAULT_METHOD = "auto"
AUTO_EXACT_MAX_N = 10
#: a budget above 2^n is capped at max(2^n, this): room for every method's minimum design
CAP_FLOOR = 1000


#: the names spectrex registers itself (a registered method takes another name; "auto" chooses among them)
BUILT_IN = frozenset(METHODS)


def register_method(name: str, target: str | type) -> None:
    """Make ``explain(method=name)`` build ``target``: an :class:`~spectrex.Explainer` subclass, or
    ``"package.module:Class"`` to import it on first use.

    Raises ``ValueError`` for a name that is empty, ``"auto"`` or a built-in method's, and ``TypeError`` for a
    target that is neither (registering the same name again replaces it: a notebook cell may run twice).
    """
    key = _key(name) if isinstance(name, str) else ""
    if not key.strip() or key == "auto" or key in BUILT_IN:
        taken = " is spectrex's own; choose another" if key in BUILT_IN or key == "auto" else " is not a name"
        raise ValueError(f"method name {name!r}{taken} (e.g. 'my_method')")
    if isinstance(target, str):
        module, _, cls = target.partition(":")
        if not (module and cls.isidentifier() and all(p.isidentifier() for p in module.split("."))):
            raise TypeError(f"a method given by name is 'package.module:Class', got {target!r}")
    else:
        from .estimators.base import Explainer

        if not (isinstance(target, type) and issubclass(target, Explainer)):
            raise TypeError(
                f"a method is a subclass of spectrex.Explainer (see docs/extending.md) or 'package.module:Class', "
                f"got {target!r}"
            )
    METHODS[key] = target


def _key(name: str) -> str:
    """Method names compare without case, "-" or "_" (``"Proxy-SPEX"`` = ``"proxyspex"``)."""
    return str(name).lower().replace("_", "").replace("-", "")


def get_method(name: str):
    """The estimator class registered under ``name``."""
    key = _key(name)
    if key not in METHODS:
        # explain(f, n, 500): the third argument is the method, and 500 was meant as the budget
        hint = f" (a number of queries is budget={name!r})" if is_whole(name) else ""
        raise ValueError(f"unknown method {name!r}{hint}; choose one of: {', '.join(sorted(METHODS))}")
    target = METHODS[key]
    if not isinstance(target, str):
        return target
    module, cls = target.split(":")
    return getattr(import_module(module), cls)


def check_method(name: str) -> str:
    """``name`` when :func:`explain` takes it (``"auto"`` or a registered method), else ``ValueError``."""
    if name != "auto":
        get_method(name)
    return name


def check_settings(cls, settings: dict, method: str, *, chosen: bool = False) -> None:
    """Refuse ``settings`` that the method class ``cls`` does not take, naming the method (and that ``"auto"`` chose
    it), a near spelling and what it takes: Python's "unexpected keyword argument" names ``Explainer.__init__``."""
    own = [k for k in cls._param_names() if k not in ("max_order", "index", "random_state", "engine")]
    unknown = sorted(set(settings) - set(own))
    if not unknown:
        return
    import difflib

    close = difflib.get_close_matches(unknown[0], [*own, *inspect.signature(explain).parameters], n=1)
    who = f"method 'auto' chose {method!r} here, which" if chosen else f"method {method!r}"
    if chosen and not close:
        remedy = "name the method whose setting it is (e.g. method='proxyspex'), or leave it out"
    elif own:
        whose = "its" if chosen else "that method's"
        remedy = f"pass only {whose} own settings: {', '.join(own)}"
    else:
        remedy = "leave it out: it takes none"
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise TypeError(f"{who} takes no setting {', '.join(map(repr, unknown))}{hint}; {remedy}")


def choose_method(n: int, method: str = DEFAULT_METHOD, budget: int | None = None) -> tuple[str, int | None, list[str]]:
    """The method ``explain`` runs for ``n`` parts, the budget it runs with, and notes saying why.

    ``"auto"`` is Exact up to :data:`AUTO_EXACT_MAX_N` parts when the budget covers their 2^n masks, else
    ProxySPEX; a budget of at least
    the 2^n masks that exist means Exact (for ``"auto"``) or is capped. Shared by :func:`explain`
    and the command line, which says the plan before any model loads.
    """
    notes: list[str] = []
    if budget is not None and not isinstance(budget, bool) and isinstance(budget, int) and budget >= 2**n:
        from .estimators.exact import MAX_EXACT_N

        # more queries than masks exist: query each mask once (Exact) or cap the sample
        if method == "auto" and n <= MAX_EXACT_N:
            notes.append(f"budget {budget:,} ≥ the {2**n:,} masks of {n} parts: all are queried once (exact)")
            method, budget = "exact", None
        elif method != "exact" and budget > max(2**n, CAP_FLOOR):
            # repeated masks are free (the engine sends each once), but a decoder fitted on a million
            # rows of 2^n distinct masks is not
            budget_cap = max(2**n, CAP_FLOOR)
            notes.append(f"budget {budget:,} capped at {budget_cap:,}: only {2**n:,} masks exist for {n} parts")
            budget = budget_cap
    if method == "auto":
        # Exact needs every one of the 2^n masks: only when they fit the budget (a short text under a
        # small budget gets the sampling method, not a refusal)
        fits = budget is None or isinstance(budget, bool) or not isinstance(budget, int) or budget >= 2**n
        method = "exact" if n <= AUTO_EXACT_MAX_N and fits else "proxyspex"
    return method, budget, notes


def auto_budget_error(n: int, budget: int, refusal: BudgetError) -> BudgetError:
    """The refusal of a ``budget`` too small for what ``method="auto"`` chose over ``n`` parts.

    ``refusal`` is the chosen method's own. Where Exact could have run instead (``n ≤``
    :data:`AUTO_EXACT_MAX_N`) the least budget that works is the smaller of its ``2^n`` masks and the
    sampling method's minimum, and the message names both, so it does not send the user to a larger budget
    than needed (5 parts: 32 runs Exact, not the 64 that ProxySPEX needs).
    """
    if n > AUTO_EXACT_MAX_N or refusal.minimum is None:
        return refusal
    least = min(2**n, refusal.minimum)
    return BudgetError(
        f"method 'auto' runs Exact on {n} parts when the budget holds all 2^{n} = {2**n:,} masks, else ProxySPEX, "
        f"which needs at least {refusal.minimum:,} queries, but the budget is {budget:,}; "
        f"raise the budget to {least:,} or more (default for n = {n}: {2**n:,}, every mask)",
        minimum=least,
    )


def explain(
    value_fn,
    n: int | None = None,
    method: str = DEFAULT_METHOD,
    budget: int | None = None,
    max_order: int | None = None,
    index: str = "Moebius",
    random_state=None,
    labels=None,
    engine=None,
    cache=None,
    cache_key=None,
    progress=None,
    **settings,
) -> Interactions | Explanations:
    """Explain a value function over ``n`` parts.

    Parameters
    ----------
    value_fn : callable
        ``masks (q, n) bool -> (q,) floats``; True = part kept. A function that returns ``(q, m)``
        floats (``m`` outputs per forward pass: tokens, labels) gets an :class:`~spectrex.Explanations`,
        one explanation per output from the same queries.
    n : int, optional
        Number of parts (default: ``value_fn.n``, which every spectrex value function has).
    method : str, default "auto"
        ``"exact"``, ``"spex"``, ``"proxyspex"`` or a baseline; ``"auto"`` picks Exact for
        ``n ≤ 10`` when the budget (if given) covers all ``2^n`` masks, and ProxySPEX otherwise.
    budget : int, optional
        Most queries to spend (the method's default when omitted).
    max_order : int, optional
        Highest interaction order to recover.
    index : str, default "Moebius"
        Index of the returned view; convert later with ``result.to(...)``.
    random_state : int, optional
        Seed for the mask design.
    labels : sequence of str, optional
        One label per part (default: ``value_fn.labels`` when it has them).
    engine : QueryEngine, optional
        Batching / caching / back-end settings.
    cache : str or Path, optional
        SQLite file of model answers (shorthand for ``engine=QueryEngine(cache=...)``): a run that
        was interrupted, or repeated, re-queries nothing stored there. The value function needs a
        ``fingerprint`` attribute, or pass ``cache_key``.
    cache_key : str, optional
        Identity of the model and input in the cache, for value functions without a ``fingerprint``.
    progress : None, bool or callable(done, total), optional
        Progress bar on a terminal for long runs (``None``), never (``False``), or a callback.
    **settings
        Passed to the method's constructor.
    """
    if n is None:
        n = getattr(value_fn, "n", None)
        if n is None:
            raise ValueError("pass n, the number of parts (this value function does not say how many it has)")
    n = check_n(n)
    asked = method
    method, budget, notes = choose_method(n, method, budget)
    cls = get_method(method)
    check_settings(cls, settings, method, chosen=asked == "auto" and method != asked)
    shorthand = {"cache": cache, "cache_key": cache_key, "progress": progress}
    given = [k for k, v in shorthand.items() if v is not None]
    own_engine = engine is None and bool(given)
    if engine is not None and given:
        raise ValueError(
            f"pass {', '.join(given)} either to explain() or inside engine=QueryEngine(...), not both; "
            f"e.g. engine=QueryEngine({given[0]}=...)"
        )
    if own_engine:
        from .engine import QueryEngine

        engine = QueryEngine(**{k: v for k, v in shorthand.items() if v is not None})
    try:
        est = cls(max_order=max_order, index=index, random_state=random_state, engine=engine, **settings)
        # the result records the name the user chose ("lasso2", not the class's "faithbanzhaf")
        result = est.explain(value_fn, n, budget, labels=labels, method=_key(method), notes=tuple(notes))
    except BudgetError as exc:
        if asked != "auto" or budget is None:
            raise
        raise auto_budget_error(n, budget, exc) from None
    finally:
        if own_engine:
            engine.close()
    for line in notes:
        note(line)
    return result
