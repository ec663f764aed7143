"""Counterfactual removal: which few parts, once removed, change the output most?

The recovered transform is a multilinear polynomial in the mask ``m ∈ {0, 1}^n`` (1 = kept):
``f(m) = Σ_S a(S) Π_{i∈S} m_i`` in the Möbius basis. Finding the ``k`` removals that move it
most is a 0/1 polynomial optimisation, made linear with one auxiliary binary ``y_S`` per
interaction (``y_S ≤ m_i`` for ``i ∈ S`` and ``y_S ≥ Σ_{i∈S} m_i − |S| + 1`` force
``y_S = Π m_i``) and solved exactly with :func:`scipy.optimize.milp` (HiGHS). The answer is then
checked on the model itself: the report gives the predicted and the actual change.

:func:`removal_curve` is the papers' simpler test: remove the ``r`` parts with the largest
attribution, ``r = 1 … R``, and measure how far the output actually moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ..contract import evaluate
from ..transforms import bitset
from ..transforms.sparse import SparseTransform
from ..validate import check_whole

Objective = Literal["decrease", "increase", "abs", "flip"]


@dataclass
class Counterfactual:
    """The outcome of :func:`counterfactual`.

    Attributes
    ----------
    removed : tuple of int
        Parts removed (all other parts kept).
    labels : tuple of str
        Their labels.
    mask : ndarray (n,) bool
        The counterfactual mask (True = kept).
    original : float
        The recovered function on the full input.
    predicted : float
        The recovered function on ``mask``.
    actual_original, actual : float or None
        The model's output on the full input and on ``mask`` (when a value function was given).
    optimal : bool
        Whether the search is exact (False: best found within the time limit, or no ≤ ``k``
        removals flip the sign; ``extra["flipped"]`` tells which).
    objective : str
    """

    removed: tuple[int, ...]
    labels: tuple[str, ...]
    mask: np.ndarray
    original: float
    predicted: float
    objective: str
    optimal: bool = True
    actual_original: float | None = None
    actual: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def predicted_change(self) -> float:
        return self.predicted - self.original

    @property
    def actual_change(self) -> float | None:
        if self.actual is None or self.actual_original is None:
            return None
        return self.actual - self.actual_original

    def to_dict(self) -> dict:
        """Plain JSON-friendly view (for the HTML report)."""
        return {
            "removed": list(self.removed),
            "labels": list(self.labels),
            "objective": self.objective,
            "optimal": self.optimal,
            "original": self.original,
            "predicted": self.predicted,
            "predicted_change": self.predicted_change,
            "actual_original": self.actual_original,
            "actual": self.actual,
            "actual_change": self.actual_change,
            **self.extra,
        }


def _as_transform(source) -> tuple[SparseTransform, list[str]]:
    if isinstance(source, SparseTransform):
        return source, [str(i) for i in range(source.n)]
    return source.transform, list(source.labels)  # an Interactions


def _solve(mob: SparseTransform, k: int, sign: float, *, flip_target, time_limit, fixed=None):
    """One MILP over ``x = [m_0 … m_{n-1}, y_S for |S| ≥ 2]``.

    ``sign = +1`` minimises ``f``, ``-1`` maximises it. With ``flip_target`` set, it instead
    minimises the number of removals subject to ``sign · f(m) ≤ flip_target``.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = mob.n
    orders = mob.orders
    ix = bitset.incidence(mob.supports, n)
    inc = sp.csr_matrix((np.ones(ix.indices.size), ix.indices, ix.indptr), shape=(len(mob.supports), n))  # (s, n)
    const = float(mob.coefs[orders == 0].sum())
    lin = np.asarray(inc[orders == 1].T @ mob.coefs[orders == 1]).ravel()  # order-1 terms act on m directly
    hi = np.flatnonzero(orders >= 2)
    h = hi.size
    f_coef = np.concatenate([lin, mob.coefs[hi]])  # f(m) = const + f_coef · x

    rows = []
    lo_b, hi_b = [], []
    if h:
        sub = inc[hi]  # (h, n)
        r, c = sub.nonzero()
        # y_S − m_i ≤ 0 for every i ∈ S
        a1 = sp.csr_matrix(
            (
                np.concatenate([np.ones(r.size), -np.ones(r.size)]),
                (np.tile(np.arange(r.size), 2), np.concatenate([n + r, c])),
            ),
            shape=(r.size, n + h),
        )
        rows.append(a1)
        lo_b.append(np.full(r.size, -np.inf))
        hi_b.append(np.zeros(r.size))
        # y_S − Σ_{i∈S} m_i ≥ 1 − |S|
        a2 = sp.hstack([-sub, sp.identity(h, format="csr")]).tocsr()
        rows.append(a2)
        lo_b.append(1.0 - orders[hi].astype(float))
        hi_b.append(np.full(h, np.inf))
    kept = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(h)])[None, :])
    if flip_target is None:
        rows.append(kept)  # at most k removals: Σ m_i ≥ n − k
        lo_b.append([n - k])
        hi_b.append([np.inf])
        c = sign * f_coef
    else:
        rows.append(sp.csr_matrix(sign * f_coef[None, :]))  # sign · (const + f_coef·x) ≤ target
        lo_b.append([-np.inf])
        hi_b.append([flip_target - sign * const])
        rows.append(kept)
        lo_b.append([n - k])
        hi_b.append([np.inf])
        c = -np.concatenate([np.ones(n), np.zeros(h)])  # keep as many parts as possible
    cons = LinearConstraint(sp.vstack(rows).tocsr(), np.concatenate(lo_b), np.concatenate(hi_b))
    options = {"disp": False, "mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    lower = np.zeros(n + h)
    if fixed is not None:
        lower[:n][fixed] = 1.0  # parts outside the candidates stay kept
    res = milp(c, constraints=cons, integrality=np.ones(n + h), bounds=Bounds(lower, 1), options=options)
    if res.x is None:
        return None, res
    return np.rint(res.x[:n]).astype(bool), res


#: "auto" enumerates all masks with ≤ k removals when there are at most this many
ENUMERATE_MAX = 100_000


def _enumerate(mob: SparseTransform, cand: np.ndarray, k: int, objective: str, original: float):
    """Exact search by evaluating every mask with ≤ ``k`` removals among ``cand``; returns (mask, flipped)."""
    n = mob.n
    blocks = []
    for r in range(min(k, len(cand)) + 1):
        combos = np.array(list(combinations(cand.tolist(), r)), dtype=np.int64).reshape(comb(len(cand), r), r)
        masks = np.ones((len(combos), n), dtype=bool)
        np.put_along_axis(masks, combos, False, axis=1)
        blocks.append(masks)
    masks = np.concatenate(blocks)  # ordered by number of removals
    vals = mob(masks)
    if objective == "decrease":
        return masks[int(np.argmin(vals))], None
    if objective == "increase":
        return masks[int(np.argmax(vals))], None
    if objective == "abs":
        return masks[int(np.argmax(np.abs(vals - original)))], None
    sign = 1.0 if original > 0 else -1.0
    tol = 1e-9 * max(1.0, float(np.abs(mob.coefs).sum()))
    ok = np.flatnonzero(sign * vals <= -tol)
    if ok.size == 0:
        return masks[int(np.argmin(sign * vals))], False
    removed = (~masks[ok]).sum(axis=1)
    fewest = ok[removed == removed.min()]
    return masks[fewest[int(np.argmin(sign * vals[fewest]))]], True  # among the fewest, the farthest past zero


def counterfactual(
    source,
    k: int,
    objective: Objective = "abs",
    *,
    value_fn=None,
    candidates=None,
    solver: Literal["auto", "milp", "enumerate"] = "auto",
    time_limit: float | None = 60.0,
) -> Counterfactual:
    """The at most ``k`` parts whose removal moves the recovered function most.

    Parameters
    ----------
    source : Interactions or SparseTransform
        The explanation (its transform is used in full, whatever index it is viewed in).
    k : int
        Most parts to remove.
    objective : {"abs", "decrease", "increase", "flip"}
        ``"decrease"``/``"increase"``: push the output down/up as far as possible; ``"abs"``: the
        larger of the two moves; ``"flip"``: the fewest removals (≤ ``k``) that change the sign of
        the output, farthest past zero among ties are not searched (the first optimum is returned).
    value_fn : callable, optional
        The model; when given, the full input and the counterfactual mask are queried and the
        actual outputs reported next to the predicted ones.
    candidates : sequence of int, optional
        Restrict removals to these parts (e.g. content words); all others stay kept.
    solver : {"auto", "milp", "enumerate"}
        ``"enumerate"`` evaluates every mask with ≤ ``k`` removals (exact; what ``"auto"`` does when
        there are at most :data:`ENUMERATE_MAX` of them), ``"milp"`` solves the linearised program.
    time_limit : float or None, default 60
        Seconds for the MILP solver; ``optimal`` is False when it stopped early.

    Returns
    -------
    Counterfactual
    """
    transform, labels = _as_transform(source)
    n = transform.n
    check_whole("k", k, 0)  # int(2.5) was 2
    k = int(k)
    if objective not in ("abs", "decrease", "increase", "flip"):
        raise ValueError(f"objective must be 'abs', 'decrease', 'increase' or 'flip', not {objective!r}")
    mob = transform.to_mobius()
    if candidates is not None:
        # fix the non-candidates to kept: substitute m_i = 1 (each product loses those factors)
        fixed = np.ones(n, dtype=bool)
        fixed[np.asarray(list(candidates), dtype=int)] = False
        keep_bits = bitset.pack(~fixed[None, :])[0]
        mob = SparseTransform(n, mob.supports & keep_bits[None, :], mob.coefs, "mobius")
    else:
        fixed = None
    full = np.ones((1, n), dtype=bool)
    original = float(mob(full)[0])
    if objective == "flip" and original == 0:
        raise ValueError("the output is exactly 0 on the full input; there is no sign to flip")
    cand = np.flatnonzero(~fixed) if fixed is not None else np.arange(n)
    n_masks = sum(comb(len(cand), r) for r in range(min(k, len(cand)) + 1))
    if solver not in ("auto", "milp", "enumerate"):
        raise ValueError(f"solver must be 'auto', 'milp' or 'enumerate', not {solver!r}")
    flipped = None
    used = "enumerate" if solver == "enumerate" or (solver == "auto" and n_masks <= ENUMERATE_MAX) else "milp"
    if used == "enumerate":
        m, flipped = _enumerate(mob, cand, k, objective, original)
        optimal = flipped is not False
    elif objective == "flip":
        if original == 0:
            raise ValueError("the output is exactly 0 on the full input; there is no sign to flip")
        sign = 1.0 if original > 0 else -1.0  # want sign · f(m) ≤ −tiny
        tol = 1e-9 * max(1.0, float(np.abs(mob.coefs).sum()))
        m, res = _solve(mob, k, sign, flip_target=-tol, time_limit=time_limit, fixed=fixed)
        if m is None:  # infeasible: no ≤ k removals flip it; report the largest move towards zero
            m, _ = _solve(mob, k, sign, flip_target=None, time_limit=time_limit, fixed=fixed)
            optimal, flipped = False, False
        else:
            optimal, flipped = res.status == 0, True
    elif objective == "abs":
        m_lo, r_lo = _solve(mob, k, 1.0, flip_target=None, time_limit=time_limit, fixed=fixed)
        m_hi, r_hi = _solve(mob, k, -1.0, flip_target=None, time_limit=time_limit, fixed=fixed)
        vals = mob(np.stack([m_lo, m_hi]))
        pick = int(np.argmax(np.abs(vals - original)))
        m = (m_lo, m_hi)[pick]
        optimal = r_lo.status == 0 and r_hi.status == 0
    else:
        m, res = _solve(
            mob, k, 1.0 if objective == "decrease" else -1.0, flip_target=None, time_limit=time_limit, fixed=fixed
        )
        optimal = res.status == 0
    removed = tuple(int(i) for i in np.flatnonzero(~m))
    out = Counterfactual(
        removed=removed,
        labels=tuple(labels[i] for i in removed),
        mask=m,
        original=original,
        predicted=float(mob(m[None, :])[0]),
        objective=objective,
        optimal=bool(optimal),
        extra={"flipped": flipped, "solver": used},
    )
    if value_fn is not None:
        y = evaluate(value_fn, np.stack([full[0], m]))
        out.actual_original, out.actual = float(y[0]), float(y[1])
    return out


def removal_curve(
    source,
    value_fn=None,
    max_removed: int | None = None,
    *,
    index: str = "SV",
    by: Literal["value", "abs"] = "value",
) -> dict[str, np.ndarray]:
    """Remove the ``r`` parts with the largest attribution, ``r = 0 … R``; predicted and actual output.

    Parameters
    ----------
    source : Interactions
        The explanation; its first-order values in ``index`` rank the parts.
    value_fn : callable, optional
        The model; when given the ``R + 1`` masks are queried in one batch.
    max_removed : int, optional
        ``R`` (default: ``min(n, 10)``).
    index : str, default "SV"
        Attribution used to rank parts (Shapley values by default).
    by : {"value", "abs"}
        Rank by signed value (parts that push the output up go first) or by magnitude.

    Returns
    -------
    dict
        ``r``, ``order`` (parts in removal order), ``predicted`` and, with a model, ``actual``
        outputs, plus the ``*_change`` relative to ``r = 0``.
    """
    n = source.n
    R = min(n, 10) if max_removed is None else min(int(max_removed), n)
    attr = source.to(index).first_order()
    key = -np.abs(attr) if by == "abs" else -attr
    order = np.argsort(key, kind="stable")[:R]
    masks = np.ones((R + 1, n), dtype=bool)
    for r in range(1, R + 1):  # R ≤ n rows: cheap
        masks[r:, order[r - 1]] = False
    pred = source.predict(masks)
    out = {"r": np.arange(R + 1), "order": order, "predicted": pred, "predicted_change": pred - pred[0]}
    if value_fn is not None:
        y = evaluate(value_fn, masks)
        out["actual"], out["actual_change"] = y, y - y[0]
    return out
