"""Exact Fourier spectrum of a tree ensemble over binary inputs.

With masks ``m ∈ {0, 1}^n`` and ``χ_i = (-1)^{m_i}``, the indicator that a path sends ``m_i`` to
``0`` is ``(1 + χ_i) / 2`` and to ``1`` is ``(1 - χ_i) / 2``. A leaf reached through ``d`` distinct
features with signs ``s_i`` (``+1`` for ``m_i = 0``, ``-1`` for ``m_i = 1``) therefore contributes

    value · 2^{-d} · Π_{i∈T} s_i   to the coefficient of every ``T ⊆ path``.

A feature split twice on one path multiplies two indicators of the same variable: equal ones are
idempotent, opposite ones make the leaf unreachable (its contribution is zero). The ensemble's
spectrum is the sum over leaves and trees; terms of order above ``max_order`` are never formed,
so the cap is exactly a truncation of the full spectrum.

The model is read from LightGBM's text format (``booster.model_to_string()``), which is parsed
with numpy in one pass; the expansion is vectorised over leaves, one block per (order, pattern).
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from ..transforms import bitset
from ..transforms.sparse import SparseTransform

# bits of LightGBM's decision_type field
_CATEGORICAL, _DEFAULT_LEFT = 1, 2
_MISSING_ZERO = 1
# rows of (leaf, subset) pairs expanded at once: bounds memory for large ensembles
_CHUNK = 2_000_000


def parse_lightgbm(model) -> dict[str, np.ndarray]:
    """Flatten a LightGBM model into global node arrays.

    Parameters
    ----------
    model : lightgbm.Booster, lightgbm.LGBMModel or str
        A fitted booster, a scikit-learn wrapper, or the text of ``booster.model_to_string()``.

    Returns
    -------
    dict
        ``feature, threshold, decision, left, right`` per internal node (children as global node
        ids, leaves encoded as ``-1 - global_leaf``) and ``leaf_value`` per leaf.
    """
    if hasattr(model, "booster_"):
        model = model.booster_
    text = model if isinstance(model, str) else model.model_to_string()
    feats, thr, dec, left, right, leaves = [], [], [], [], [], []
    node_off = leaf_off = 0
    for block in text.split("\nTree=")[1:]:
        fields = dict(line.split("=", 1) for line in block.split("end of trees")[0].splitlines()[1:] if "=" in line)
        values = np.array(fields["leaf_value"].split(), dtype=np.float64)
        if int(fields.get("num_cat", "0")) != 0:
            raise ValueError("categorical splits are not supported: masks must be fitted as numeric 0/1 features")
        if int(fields.get("is_linear", "0")):
            raise ValueError("linear trees are not supported: fit the proxy with linear_tree=False")
        if values.size > 1:
            lc = np.array(fields["left_child"].split(), dtype=np.int64)
            rc = np.array(fields["right_child"].split(), dtype=np.int64)
            # internal child k -> node_off + k; leaf child -1-j -> -1 - (leaf_off + j)
            left.append(np.where(lc >= 0, lc + node_off, lc - leaf_off))
            right.append(np.where(rc >= 0, rc + node_off, rc - leaf_off))
            feats.append(np.array(fields["split_feature"].split(), dtype=np.int64))
            thr.append(np.array(fields["threshold"].split(), dtype=np.float64))
            dec.append(np.array(fields["decision_type"].split(), dtype=np.int64))
            node_off += lc.size
        leaves.append(values)
        leaf_off += values.size
    cat = np.concatenate if feats else (lambda _: np.zeros(0, np.int64))
    out = {
        "feature": cat(feats),
        "threshold": cat(thr).astype(np.float64),
        "decision": cat(dec),
        "left": cat(left),
        "right": cat(right),
        "leaf_value": np.concatenate(leaves) if leaves else np.zeros(0),
    }
    if np.any(out["decision"] & _CATEGORICAL):
        raise ValueError("categorical splits are not supported: masks must be fitted as numeric 0/1 features")
    return out


def _leaf_paths(tree: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf, the (feature, allowed-values) constraints on its root path.

    Returns ``F (L, D)`` features (``-1`` padding) and ``A (L, D)`` allowed-value bit sets
    (bit 0: ``m_i = 0`` reaches the leaf, bit 1: ``m_i = 1`` does; padding = 3, no constraint).
    """
    n_nodes, n_leaves = tree["feature"].size, tree["leaf_value"].size
    feat, thr, dec = tree["feature"], tree["threshold"], tree["decision"]
    # which binary values go left at each node: v <= threshold, except zeros treated as missing
    zero_missing = ((dec >> 2) & 3) == _MISSING_ZERO
    go_left0 = np.where(zero_missing, (dec & _DEFAULT_LEFT) > 0, 0.0 <= thr)
    go_left1 = 1.0 <= thr
    left_bits = go_left0.astype(np.int64) | (go_left1.astype(np.int64) << 1)
    # parent pointers for nodes and leaves (leaf id j stored at index n_nodes + j)
    parent = np.full(n_nodes + n_leaves, -1, dtype=np.int64)
    allowed = np.full(n_nodes + n_leaves, 3, dtype=np.int64)
    for child, bits in ((tree["left"], left_bits), (tree["right"], 3 - left_bits)):
        idx = np.where(child >= 0, child, n_nodes + (-1 - child))
        parent[idx] = np.arange(n_nodes)
        allowed[idx] = bits
    cur = n_nodes + np.arange(n_leaves)
    fs, als = [], []
    while True:
        p = parent[cur]
        live = p >= 0
        if not live.any():
            break
        fs.append(np.where(live, feat[np.maximum(p, 0)], -1))
        als.append(np.where(live, allowed[cur], 3))
        cur = np.where(live, p, cur)
    if not fs:
        return np.full((n_leaves, 0), -1, np.int64), np.full((n_leaves, 0), 3, np.int64)
    return np.stack(fs, axis=1), np.stack(als, axis=1)


def _combine_repeats(F: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge repeated features on a path; returns sorted active features, signs and a live flag."""
    L, D = F.shape
    order = np.argsort(F, axis=1, kind="stable")
    F = np.take_along_axis(F, order, axis=1)
    A = np.take_along_axis(A, order, axis=1).copy()
    for j in range(1, D):  # runs of a repeated feature are contiguous after sorting
        same = (F[:, j] == F[:, j - 1]) & (F[:, j] >= 0)
        A[same, j] &= A[same, j - 1]
        A[same, j - 1] = 3
    live = ~np.any(A == 0, axis=1)
    active = (A == 1) | (A == 2)
    # move active constraints to the front, keeping features ascending
    pos = np.argsort(~active, axis=1, kind="stable")
    F = np.take_along_axis(F, pos, axis=1)
    A = np.take_along_axis(A, pos, axis=1)
    d = active.sum(axis=1)
    sign = np.where(A == 1, 1.0, -1.0)  # m_i = 0 → (1 + χ_i)/2, m_i = 1 → (1 - χ_i)/2
    keep = d.max(initial=0)
    return F[:, :keep], sign[:, :keep], np.where(live, d, -1)


def _pack_sorted(idx: np.ndarray, n: int) -> np.ndarray:
    """Bit rows from ``(s, t)`` part indices."""
    out = np.zeros((idx.shape[0], bitset.n_words(n)), dtype=np.uint64)
    r = np.arange(idx.shape[0])
    for j in range(idx.shape[1]):  # t ≤ max order: a loop over positions, not coefficients
        col = idx[:, j]
        out[r, col >> 6] |= np.left_shift(np.uint64(1), (col & 63).astype(np.uint64))
    return out


#: key spaces up to this size are summed in dense tables (a count and a sum, 16 bytes a key) rather than sorted
DENSE_KEYS = 1 << 21


def _unique_sum(idx: np.ndarray, vals: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum values of equal sorted index rows (one integer key per row when it fits in int64)."""
    t = idx.shape[1]
    if t == 0:
        return idx[:1], vals.sum(keepdims=True)
    if t * np.log2(max(n, 2)) < 62:
        key = np.zeros(idx.shape[0], dtype=np.int64)
        for j in range(t):
            key = key * n + idx[:, j]
        span = n**t
        if span <= max(DENSE_KEYS, 2 * key.size):  # few possible keys: count into a dense table instead of sorting
            present = np.flatnonzero(np.bincount(key, minlength=span))
            sums = np.bincount(key, weights=vals, minlength=span)[present]
            digits = np.empty((present.size, t), np.int64)
            rest = present
            for j in range(t - 1, -1, -1):
                rest, digits[:, j] = np.divmod(rest, n)
            return digits, sums
        uk, inv = np.unique(key, return_inverse=True)
        sums = np.bincount(inv, weights=vals, minlength=uk.size)
        first = np.zeros(uk.size, dtype=np.int64)
        first[inv] = np.arange(inv.size)
        return idx[first], sums
    uk, inv = np.unique(idx, axis=0, return_inverse=True)
    return uk, np.bincount(inv.reshape(-1), weights=vals, minlength=uk.shape[0])


def tree_fourier(model, n: int, max_order: int | None = None, *, num_iteration: int | None = None) -> SparseTransform:
    """Exact Fourier transform of a LightGBM model's predictions on binary masks.

    Parameters
    ----------
    model : lightgbm.Booster, lightgbm.LGBMModel or str
        Fitted on ``n`` features that take the values 0 and 1 only.
    n : int
        Number of features (parts).
    max_order : int, optional
        Highest order kept; higher-order terms are never formed (equal to truncating the
        full spectrum).
    num_iteration : int, optional
        Use only the first ``num_iteration`` boosting rounds (default: the booster's best
        iteration when set, else all).

    Returns
    -------
    SparseTransform
        Fourier coefficients, with ``f(m) = Σ_K F(K) (-1)^{|K ∩ m|}`` equal to ``model.predict(m)``.
    """
    if hasattr(model, "booster_"):
        model = model.booster_
    if not isinstance(model, str):
        if num_iteration is None:
            best = getattr(model, "best_iteration", 0) or 0
            num_iteration = best if best > 0 else None
        model = model.model_to_string(num_iteration=num_iteration if num_iteration else -1)
    tree = parse_lightgbm(model)
    if tree["feature"].size and tree["feature"].max() >= n:
        raise ValueError(f"the model splits on feature {int(tree['feature'].max())} but n = {n}")
    return paths_fourier(*_leaf_paths(tree), tree["leaf_value"], n, max_order)


def paths_fourier(
    F: np.ndarray, A: np.ndarray, leaf_value: np.ndarray, n: int, max_order: int | None = None
) -> SparseTransform:
    """Exact Fourier transform of ``Σ_leaves value · [m reaches the leaf]`` from the leaves' root paths.

    ``F (L, D)`` are the features on each leaf's path (-1 padding) and ``A (L, D)`` the values that
    reach the leaf (bit 0: ``m_i = 0``, bit 1: ``m_i = 1``; 3 = no constraint); terms of order above
    ``max_order`` are never formed.
    """
    F, S, d = _combine_repeats(np.asarray(F, np.int64), np.asarray(A, np.int64))
    live = d >= 0
    F, S, d, value = F[live], S[live], d[live], np.asarray(leaf_value, np.float64)[live]
    base = value * np.exp2(-d.astype(np.float64))
    D = F.shape[1]
    top = D if max_order is None else min(int(max_order), D)
    w = bitset.n_words(n)
    out_bits, out_vals = [], []
    for t in range(top + 1):
        combos = np.array(list(combinations(range(D), t)), dtype=np.int64).reshape(comb(D, t), t)
        need = combos.max(axis=1, initial=-1) if t else np.full(1, -1)
        # leaves with d active features use the combos whose positions all lie below d
        idx_parts, val_parts = [], []
        for dd in np.unique(d[d >= t]):
            rows = np.flatnonzero(d == dd)
            cs = combos[need < dd]
            step = max(1, _CHUNK // max(cs.shape[0], 1))
            for lo in range(0, rows.size, step):
                r = rows[lo : lo + step]
                idx = F[r][:, cs].reshape(r.size * cs.shape[0], t)  # (len(r) * C, t), ascending within a row
                val = (base[r][:, None] * np.prod(S[r][:, cs], axis=2)).reshape(-1)
                idx_parts.append(idx)
                val_parts.append(val)
        if not idx_parts:
            continue
        idx, val = _unique_sum(np.concatenate(idx_parts), np.concatenate(val_parts), n)
        out_bits.append(_pack_sorted(idx, n) if t else np.zeros((1, w), np.uint64))
        out_vals.append(val)
    if not out_bits:
        return SparseTransform.zero(n)
    return SparseTransform(n, np.concatenate(out_bits), np.concatenate(out_vals), "fourier")
