"""The one contract between models and algorithms, and its validator.

A *value function* takes a boolean array ``masks`` of shape ``(q, n)`` — ``True`` = part kept —
and returns ``q`` finite floats, one per row, or ``(q, m)`` floats when one forward pass yields ``m``
outputs (the tokens of a generated answer, a classifier's labels). Every estimator, back-end and
model in spectrex speaks this contract and nothing else.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from .digest import identity_hash
from .errors import BudgetError, ValueFunctionError

if TYPE_CHECKING:
    from .provenance import Source


class ValueFunction:
    """Base of every model adapter: a callable under the contract that knows its parts and its identity.

    Any callable ``masks -> floats`` can be explained; this base adds what lets spectrex use a value
    function with no extra argument: ``n`` and ``labels`` (so ``explain(value_fn)`` needs neither),
    ``quantity`` (what the number is, for displays) and ``fingerprint`` (so the query cache can store
    its answers).

    Subclasses set ``n`` and ``labels``, implement ``__call__`` and :meth:`identity`, and may set
    ``quantity``.

    Attributes
    ----------
    n : int
        Number of parts.
    labels : list of str
        One label per part.
    quantity : str or None
        A short description of the returned number (None: displays derive it from the metadata).
    full_values : ndarray or None
        The model's values on the full input (one per output), when the adapter knows them.
    fingerprint : str
        :func:`identity_hash` of :meth:`identity`; computed on first use (an adapter may also assign it).
    """

    n: int
    labels: list[str]
    quantity: str | None = None
    #: the model's values on the full input, one per output, when known (e.g. scored before the
    #: explanation starts); the driver records them in the result's provenance
    full_values: np.ndarray | None = None

    def describe(self) -> Source | None:
        """What this function says about itself in a result's provenance (the model, what it scores, how
        the input was cut…); None: nothing beyond ``quantity``."""
        return None

    def identity(self) -> dict[str, Any]:
        """Everything that can change the answers (model, settings, input), JSON-able."""
        raise NotImplementedError(f"{type(self).__name__} does not say what identifies it")

    @cached_property
    def fingerprint(self) -> str:
        return identity_hash(self.identity())

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _rows(rows: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f" … ({len(rows)} in all)" if len(rows) > limit else "")


def check_n(n) -> int:
    """Validate a number of parts."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n (the number of parts) must be an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n (the number of parts) must be at least 1, got {n}: there is nothing to explain")
    return int(n)


def check_masks(masks, n: int | None = None) -> np.ndarray:
    """Validate masks: a 2-D boolean (or 0/1) array with ``n`` columns. Returns a bool array."""
    arr = np.asarray(masks)
    if arr.ndim != 2:
        raise ValueError(f"masks must be a 2-D array of shape (queries, n_parts); got shape {arr.shape}")
    if n is not None and arr.shape[1] != n:
        raise ValueError(f"masks have {arr.shape[1]} columns but there are n = {n} parts; pass one column per part")
    if arr.dtype != bool:
        if arr.size and not np.isin(arr, (0, 1)).all():
            raise ValueError("masks must be boolean (True = part kept) or 0/1; found other values")
        arr = arr.astype(bool)
    return arr


def check_values(values, q: int, *, what: str = "the value function") -> np.ndarray:
    """Validate a value function's output for ``q`` masks: ``q`` finite floats, never broadcast."""
    out = check_shape(values, q, what=what)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise ValueFunctionError(
            f"{what} returned NaN or inf for mask rows {_rows(bad)}; "
            "make the model return finite numbers (e.g. log-probabilities clipped away from -inf), "
            "or let the query engine drop those rows (on_error='drop')",
            rows=bad,
        )
    return out


def check_shape(values, q: int, *, what: str = "the value function") -> np.ndarray:
    """The shape half of :func:`check_values`: ``q`` floats, never broadcast (NaN/inf left to the caller)."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueFunctionError(f"{what} returned {type(values).__name__}, which is not an array of floats") from exc
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1 or out.shape[0] != q:
        raise ValueFunctionError(
            f"{what} returned shape {out.shape} for {q} masks; it must return one float per mask row, shape ({q},)"
        )
    return out


def declared_outputs(value_fn) -> list[str] | None:
    """The names of a multi-output value function's outputs (its ``outputs`` attribute), or None.

    A value function that declares ``outputs`` returns ``(q, m)`` floats, one column per name; one
    that does not may still return ``(q, m)``, and its outputs are then named ``"0"``, ``"1"``, ….
    """
    names = getattr(value_fn, "outputs", None)
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not all(isinstance(x, str) for x in names) or not len(names):
        raise TypeError(f"value_fn.outputs must be a non-empty list of output names (str), got {names!r}")
    return list(names)


def check_outputs(values, q: int, width: int | None = None, *, what: str = "the value function") -> np.ndarray:
    """The shape rules for ``q`` rows of one or several outputs: returns ``(q, m)`` floats (NaN/inf kept).

    ``(q,)`` is one output per row; ``(q, m)`` is ``m``. With ``width`` known (from the function's
    declared outputs or its first answers), every answer must have that many columns.
    """
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueFunctionError(f"{what} returned {type(values).__name__}, which is not an array of floats") from exc
    if out.ndim == 1 and out.shape[0] == q:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != q or out.shape[1] == 0:
        several = f"({q}, m) for m ≥ 1 outputs" if width is None else f"({q}, {width}) for its {width} outputs"
        raise ValueFunctionError(
            f"{what} returned shape {out.shape} for {q} masks; it must return one float per mask row, shape "
            f"({q},)" + ("" if width == 1 else f", or one per output: shape {several}")
        )
    if width is not None and out.shape[1] != width:
        raise ValueFunctionError(
            f"{what} returned {out.shape[1]} outputs per mask, but {width} before (or in its `outputs`); "
            "a value function must return the same number of outputs for every mask"
        )
    return out


def evaluate(value_fn, masks: np.ndarray) -> np.ndarray:
    """Call ``value_fn`` on validated masks and validate what it returns."""
    if not callable(value_fn):
        raise TypeError(f"value_fn must be callable (masks -> floats), got {type(value_fn).__name__}")
    masks = check_masks(masks)
    return check_values(value_fn(masks), masks.shape[0])


def check_budget(budget) -> int | None:
    """Validate a query budget (``None`` = the method's default).

    A method's own minimum is its design's to check (:meth:`spectrex.design.MaskDesign.budget`).
    """
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
        raise TypeError(f"budget must be an integer number of queries, got {type(budget).__name__}")
    if budget <= 0:
        raise BudgetError(f"budget must be a positive number of queries, got {budget}")
    return int(budget)
