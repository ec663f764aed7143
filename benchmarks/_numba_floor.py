"""One trivial cached numba kernel: ``proxyspex_speed`` times numba's own start with it."""

import numba


@numba.njit(cache=True)
def first_sum(x):
    return x.sum()
