"""The LASSO's coordinate-descent sweep, compiled by numba (its own module: numba loads on first use)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def cd_lasso(X, r, beta, col_sq, alpha, max_sweeps, tol):  # pragma: no cover - compiled
    """Minimise ``1/(2q) ||r0 - X β||² + α ||β||₁`` in place (``r`` is the current residual)."""
    q, p = X.shape
    active_only = False
    for _ in range(max_sweeps):
        biggest = 0.0
        for j in range(p):
            bj = beta[j]
            if active_only and bj == 0.0:
                continue
            if col_sq[j] == 0.0:
                continue
            rho = 0.0
            for i in range(q):
                rho += X[i, j] * r[i]
            rho = rho / q + col_sq[j] * bj
            if rho > alpha:
                nb = (rho - alpha) / col_sq[j]
            elif rho < -alpha:
                nb = (rho + alpha) / col_sq[j]
            else:
                nb = 0.0
            if nb != bj:
                d = nb - bj
                for i in range(q):
                    r[i] -= d * X[i, j]
                beta[j] = nb
                step = abs(d) * np.sqrt(col_sq[j])
                if step > biggest:
                    biggest = step
        if biggest < tol:
            if not active_only:
                return  # a full sweep changed nothing: converged
            active_only = False  # the active set converged; check every coordinate once more
        else:
            active_only = True
    return
