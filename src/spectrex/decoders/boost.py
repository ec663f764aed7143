"""Gradient-boosted regression trees on binary masks, in one numba kernel (ProxySPEX's default proxy).

The proxy of ProxySPEX is a boosted ensemble of shallow trees on ``0/1`` features with squared loss.
On binary features a split is "is part ``j`` kept", so a tree needs no binning, no thresholds and
no repeated features on a path (after a split on ``j`` one child has ``m_j = 0`` everywhere): the
whole learner is histograms ``Σ r_i`` and counts per (node, feature), grown depth-wise, with the
sibling of every split obtained by subtraction from its parent and the root's histogram carried from
round to round (its counts are fixed; each leaf moves its sums by value × the leaf's counts). Each
level's histograms visit only the rows sent right, listed in row order while routing (no branch per
row), and the split gains are computed in one vectorised pass per node: 25–35 % less per round than
a pass over every row at the root with a branch per row (n ≤ 64; 20–30 % at n = 256), with the
same trees on 30 random problems (the carried root sums differ from fresh ones in the last bits). A
row-partitioned layout and a routing pass fused into the histogram pass were both slower. Trees are
stored in heap layout (node ``k`` has children ``2k+1`` for ``m_j = 0`` and ``2k+2`` for ``m_j = 1``).

Why not LightGBM (still available as ``proxy="lightgbm"``): importing it imports scikit-learn,
scipy.stats and pandas, about 1 s of CPU in a fresh process — more than a whole warm explanation
at n = 64. This kernel is compiled once and cached on disk (``cache=True``), and on these inputs
it matches LightGBM's trees (same split gain, same minimum leaf size, same early stopping rule)
at less cost per round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass
class Ensemble:
    """Boosted trees in heap layout: ``feature[t, k]`` (-1 at leaves and unused nodes), ``value[t, k]``
    (leaf outputs, learning rate applied), ``leaf[t, k]`` (whether node ``k`` of tree ``t`` is a leaf)."""

    init: float
    feature: np.ndarray
    value: np.ndarray
    leaf: np.ndarray
    depth: int
    best_iteration: int
    holdout_sse: float

    def predict(self, masks: np.ndarray) -> np.ndarray:
        """Predictions of the first ``best_iteration`` trees on ``masks`` (q, n)."""
        X = np.ascontiguousarray(masks, dtype=np.uint8)
        return _predict(X, self.feature[: self.best_iteration], self.value[: self.best_iteration], self.init)

    def paths(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every leaf's root path: features ``F (L, depth)`` (-1 padding), allowed values ``A (L, depth)``
        (1: ``m_j = 0`` reaches the leaf, 2: ``m_j = 1`` does, 3: padding) and leaf values ``(L,)``;
        the constant ``init`` comes as a leaf with an empty path."""
        t, k = np.nonzero(self.leaf[: self.best_iteration])
        L = t.size
        F = np.full((L + 1, self.depth), -1, np.int64)
        A = np.full((L + 1, self.depth), 3, np.int64)
        cur = k.copy()
        for level in range(self.depth):
            up = cur > 0
            parent = (cur - 1) // 2
            F[:L, level] = np.where(up, self.feature[t, np.maximum(parent, 0)], -1)
            A[:L, level] = np.where(up, np.where(cur == 2 * parent + 1, 1, 2), 3)
            cur = np.where(up, parent, cur)
        values = np.concatenate([self.value[t, k], [self.init]])
        return F, A, values


@numba.njit(cache=True, nogil=True)
def _predict(X, feature, value, init):  # pragma: no cover - compiled
    q = X.shape[0]
    out = np.full(q, init)
    for t in range(feature.shape[0]):
        for i in range(q):
            k = 0
            while feature[t, k] >= 0:
                k = 2 * k + 1 + X[i, feature[t, k]]
            out[i] += value[t, k]
    return out


@numba.njit(cache=True, nogil=True)
def _boost(X, y, Xh, yh, depth, lr, max_rounds, patience, min_delta, min_leaf):  # pragma: no cover - compiled
    q, n = X.shape
    qh = Xh.shape[0]
    n_nodes = 2 ** (depth + 1) - 1
    feature = np.full((max_rounds, n_nodes), -1, np.int64)
    value = np.zeros((max_rounds, n_nodes))
    leaf = np.zeros((max_rounds, n_nodes), np.bool_)
    init = y.mean()
    r = y - init
    rh = yh - init
    node = np.zeros(q, np.int64)
    best = (rh * rh).sum()
    best_it = 0
    since = 0
    width = 2**depth
    # histograms of the current level's nodes (by position within the level) and of their parents
    S1 = np.zeros((width, n))
    C1 = np.zeros((width, n))
    S = np.zeros(width)
    C = np.zeros(width)
    pS1 = np.zeros((width, n))
    pC1 = np.zeros((width, n))
    pS = np.zeros(width)
    pC = np.zeros(width)
    active = np.zeros(n_nodes, np.bool_)
    gain = np.empty(n)
    right = np.empty(q, np.int64)
    n_right = 0
    # the root's histogram is kept across rounds: its counts never change and each leaf of a tree moves its
    # sums by value · (the leaf's counts), so no round passes over every row
    rS = r.sum()
    rS1 = np.zeros(n)
    rC1 = np.zeros(n)
    for i in range(q):
        ri = r[i]
        for j in range(n):
            xij = X[i, j]
            rS1[j] += xij * ri
            rC1[j] += xij
    rounds = 0
    for t in range(max_rounds):
        rounds = t + 1
        node[:] = 0
        active[:] = False
        active[0] = True
        for level in range(depth + 1):
            first = 2**level - 1
            count = 2**level
            S1[:count] = 0.0
            C1[:count] = 0.0
            S[:count] = 0.0
            C[:count] = 0.0
            if level == 0:
                S[0] = rS
                C[0] = q
                S1[0] = rS1
                C1[0] = rC1
            else:
                # histograms of the right children (m_j = 1) from their rows, the left ones by subtraction;
                # on the last level only counts (for the root's update)
                for p in range(n_right):
                    i = right[p]
                    k = node[i] - first
                    ri = r[i]
                    S[k] += ri
                    C[k] += 1.0
                    if level < depth:
                        for j in range(n):
                            xij = X[i, j]
                            S1[k, j] += xij * ri
                            C1[k, j] += xij
                    else:
                        for j in range(n):
                            C1[k, j] += X[i, j]
                for k in range(0, count, 2):
                    if not active[first + k]:
                        continue
                    p = k // 2
                    S[k] = pS[p] - S[k + 1]
                    C[k] = pC[p] - C[k + 1]
                    for j in range(n):
                        C1[k, j] = pC1[p, j] - C1[k + 1, j]
                    if level < depth:
                        for j in range(n):
                            S1[k, j] = pS1[p, j] - S1[k + 1, j]
            for k in range(count):
                nd = first + k
                if not active[nd]:
                    continue
                bj = -1
                if level < depth and C[k] >= 2 * min_leaf:
                    base = S[k] * S[k] / C[k]
                    bg = 1e-12 * (base + 1e-300)
                    # every feature's gain first (a loop the compiler vectorises), then the first best one
                    Sk = S[k]
                    Ck = C[k]
                    for j in range(n):
                        c1 = C1[k, j]
                        c0 = Ck - c1
                        s1 = S1[k, j]
                        s0 = Sk - s1
                        g = s1 * s1 / max(c1, 1.0) + s0 * s0 / max(c0, 1.0) - base
                        gain[j] = g if (c1 >= min_leaf) & (c0 >= min_leaf) else -np.inf
                    for j in range(n):
                        if gain[j] > bg:
                            bg = gain[j]
                            bj = j
                if bj >= 0:
                    feature[t, nd] = bj
                    active[2 * nd + 1] = True
                    active[2 * nd + 2] = True
                else:
                    leaf[t, nd] = True
                    v = lr * S[k] / C[k] if C[k] > 0 else 0.0
                    value[t, nd] = v
                    rS -= v * C[k]
                    for j in range(n):
                        rS1[j] -= v * C1[k, j]
            if level == depth:
                break
            # route rows to the children and keep this level's histograms as the parents'
            # route rows to the children, listing (in row order, without a branch) those sent right
            n_right = 0
            for i in range(q):
                nd = node[i]
                if nd >= first and feature[t, nd] >= 0:
                    x = X[i, feature[t, nd]]
                    node[i] = 2 * nd + 1 + x
                    right[n_right] = i
                    n_right += x
            for k in range(count):
                pS[k] = S[k]
                pC[k] = C[k]
                for j in range(n):
                    pS1[k, j] = S1[k, j]
                    pC1[k, j] = C1[k, j]
        for i in range(q):
            r[i] -= value[t, node[i]]
        sse = 0.0
        for i in range(qh):
            k = 0
            while feature[t, k] >= 0:
                k = 2 * k + 1 + Xh[i, feature[t, k]]
            rh[i] -= value[t, k]
            sse += rh[i] * rh[i]
        if sse < best - min_delta * qh:
            best = sse
            best_it = t + 1
            since = 0
        else:
            since += 1
            if since >= patience:
                break
    return init, feature[:rounds], value[:rounds], leaf[:rounds], max(best_it, 1), best


def boost(
    X: np.ndarray,
    y: np.ndarray,
    Xh: np.ndarray,
    yh: np.ndarray,
    depth: int,
    *,
    learning_rate: float = 0.5,
    max_rounds: int = 1000,
    patience: int = 20,
    min_delta: float = 1e-3,
    min_leaf: int = 2,
) -> Ensemble:
    """Boost depth-``depth`` trees on ``(X, y)`` with early stopping on the holdout ``(Xh, yh)``.

    Boosting stops when ``patience`` rounds in a row fail to lower the holdout mean squared error by
    more than ``min_delta`` below its best (LightGBM's rule); the ensemble keeps the best rounds.
    ``X`` and ``Xh`` are 0/1 masks; leaves hold at least ``min_leaf`` rows; no shrinkage other than
    ``learning_rate``, no L2 penalty (the proxy only has to find the support).
    """
    depth = max(1, int(depth))
    init, feature, value, leaf, best_it, sse = _boost(
        np.ascontiguousarray(X, dtype=np.uint8),
        np.asarray(y, dtype=np.float64),
        np.ascontiguousarray(Xh, dtype=np.uint8),
        np.asarray(yh, dtype=np.float64),
        depth,
        float(learning_rate),
        int(max_rounds),
        int(patience),
        float(min_delta),
        max(1, int(min_leaf)),  # the kernel's gain divides by counts of at least min_leaf
    )
    return Ensemble(float(init), feature, value, leaf, depth, int(best_it), float(sse))
