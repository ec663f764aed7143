"""Binary BCH codes for SPEX's delays: construction (once, cached) and a batched numba decoder.

A narrow-sense primitive binary BCH code of length ``N = 2^m - 1`` correcting ``t`` errors has the
generator polynomial ``g(x) = lcm(M_1, M_3, …, M_{2t-1})`` (minimal polynomials of ``α^i`` over
GF(2)), of degree ``r ≤ m·t``. In systematic form a message ``u`` (here: the support ``k`` of a
Fourier coefficient, ``n ≤ N - r`` bits) has the ``r`` parity bits ``P k`` (mod 2), where column
``i`` of ``P`` holds the coefficients of ``x^{r+i} mod g(x)``.

SPEX queries the model at delays = rows of ``P``, so a singleton bin reveals the parity bits
``P k`` as signs. The word ``(parity | 0…0)`` differs from the codeword ``(P k | k)`` exactly in the
positions of ``k``: decoding that word with up to ``t`` errors returns ``k`` (and corrects up to
``t - |k|`` parity bits flipped by noise). Codeword position ``p < r`` is parity bit ``p``, position
``r + i`` is part ``i``.

Everything here is self-contained (GF(2^m) by log/antilog tables); the tables and the code are
built once per ``(n, t)`` and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

# Primitive polynomials over GF(2), bit j = coefficient of x^j (m = 2 … 20).
PRIMITIVE_POLYS = {
    2: 0x7,
    3: 0xB,
    4: 0x13,
    5: 0x25,
    6: 0x43,
    7: 0x89,
    8: 0x11D,
    9: 0x211,
    10: 0x409,
    11: 0x805,
    12: 0x1053,
    13: 0x201B,
    14: 0x4443,
    15: 0x8003,
    16: 0x1100B,
    17: 0x20009,
    18: 0x40081,
    19: 0x80027,
    20: 0x100009,
}
MAX_M = max(PRIMITIVE_POLYS)


@lru_cache(maxsize=32)
def gf_tables(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Antilog table ``exp`` (length ``2N``, so sums of two logs need no reduction) and ``log`` of GF(2^m).

    Raises if the stored polynomial is not primitive (α would not generate every non-zero element).
    """
    if m not in PRIMITIVE_POLYS:
        raise ValueError(f"GF(2^{m}) is not supported (m must lie in 2..{MAX_M})")
    N = (1 << m) - 1
    poly = PRIMITIVE_POLYS[m]
    exp = np.zeros(2 * N, dtype=np.int64)
    x = 1
    for i in range(N):
        exp[i] = x
        x <<= 1
        if x >> m:
            x ^= poly
    exp[N:] = exp[:N]
    log = np.full(N + 1, -1, dtype=np.int64)
    log[exp[:N]] = np.arange(N)
    if (log[1:] < 0).any():
        raise AssertionError(f"polynomial {poly:#x} is not primitive for m = {m}")
    return exp, log


def _gf_mul(a: int, b: int, exp: np.ndarray, log: np.ndarray) -> int:
    return 0 if a == 0 or b == 0 else int(exp[log[a] + log[b]])


def _minimal_poly(i: int, m: int) -> int:
    """Minimal polynomial of ``α^i`` over GF(2) (as a bit mask): the product over its cyclotomic coset."""
    exp, log = gf_tables(m)
    N = (1 << m) - 1
    coset, j = [], i % N
    while j not in coset:
        coset.append(j)
        j = (2 * j) % N
    poly = [1]  # coefficients in GF(2^m), lowest degree first
    for j in coset:
        root = int(exp[j])
        new = [0] * (len(poly) + 1)
        for d, c in enumerate(poly):  # multiply by (x + root)
            new[d + 1] ^= c
            new[d] ^= _gf_mul(c, root, exp, log)
        poly = new
    assert all(c in (0, 1) for c in poly), "minimal polynomial must have binary coefficients"
    return sum(c << d for d, c in enumerate(poly))


def _clmul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        b >>= 1
    return out


@lru_cache(maxsize=64)
def generator_poly(m: int, t: int) -> int:
    """``g(x) = lcm(M_1, M_3, …, M_{2t-1})`` of the length-``2^m - 1`` t-error-correcting BCH code."""
    N = (1 << m) - 1
    seen, g = set(), 1
    for i in range(1, 2 * t, 2):
        rep = min((i << s) % N for s in range(m))  # coset representative
        if rep in seen:
            continue
        seen.add(rep)
        g = _clmul(g, _minimal_poly(i, m))
    return g


@dataclass(frozen=True, eq=False)
class BCHCode:
    """A binary BCH code of length ``N = 2^m - 1`` correcting ``t`` errors, shortened to ``n`` message bits.

    Attributes
    ----------
    n, t, m : int
        Message length (parts), correctable errors, field degree.
    r : int
        Number of parity bits (= SPEX delays besides the zero delay).
    parity : ndarray of bool, shape (r, n)
        ``parity[p, i]`` = parity bit ``p`` of the unit message ``e_i``; ``parity @ k mod 2`` encodes ``k``.
    exp, log : ndarray
        GF(2^m) tables for the decoder.
    """

    n: int
    t: int
    m: int
    r: int
    parity: np.ndarray
    exp: np.ndarray
    log: np.ndarray

    @property
    def length(self) -> int:
        return (1 << self.m) - 1

    def encode(self, supports: np.ndarray) -> np.ndarray:
        """Parity bits ``(s, r)`` of supports given as a boolean ``(s, n)`` array."""
        return (np.asarray(supports, dtype=np.int64) @ self.parity.T.astype(np.int64)) % 2 == 1

    def decode(self, parity_bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hard-decision decoding of received parity words ``(B, r)`` (message part received as zeros).

        Returns ``(parts, ok)``: ``parts`` is ``(B, t)`` int64 with the decoded support's part indices
        (``-1`` padding), ``ok`` says whether decoding succeeded.
        """
        bits = np.ascontiguousarray(parity_bits, dtype=np.uint8).reshape(-1, self.r)
        parts = np.full((bits.shape[0], max(self.t, 1)), -1, dtype=np.int64)
        ok = np.zeros(bits.shape[0], dtype=np.bool_)
        flips = np.zeros(max(self.t, 1), dtype=np.int64)
        for i in range(bits.shape[0]):
            ok[i] = bch_decode_word(bits[i], self.exp, self.log, self.m, self.t, self.r, self.n, parts[i], flips) >= 0
        return parts, ok


@lru_cache(maxsize=32)
def bch_code(n: int, t: int) -> BCHCode:
    """The shortest primitive binary BCH code correcting ``t`` errors with at least ``n`` message bits.

    Built once per ``(n, t)`` (cached); cost is O(n·r) bit operations plus the GF tables.
    """
    if n < 1 or t < 1:
        raise ValueError(f"need n ≥ 1 and t ≥ 1, got n={n}, t={t}")
    m = max(2, int(np.ceil(np.log2(2 * t + 2))))
    while True:
        if m > MAX_M:
            raise ValueError(f"no BCH code with m ≤ {MAX_M} holds n = {n} message bits at t = {t}")
        g = generator_poly(m, t)
        r = g.bit_length() - 1
        if (1 << m) - 1 - r >= n:
            break
        m += 1
    # column i = x^{r+i} mod g(x), computed by repeated multiplication by x
    parity = np.zeros((r, n), dtype=bool)
    rem = (1 << r) ^ g  # x^r mod g
    shifts = np.arange(r)
    for i in range(n):
        parity[:, i] = (rem >> shifts) & 1
        rem <<= 1
        if rem >> r:
            rem ^= g
    exp, log = gf_tables(m)
    parity.setflags(write=False)
    return BCHCode(n=n, t=t, m=m, r=r, parity=parity, exp=exp, log=log)


@numba.njit(cache=True)
def bch_decode_word(bits, exp, log, m, t, r, n, parts_out, flips_out):
    """Berlekamp–Massey + Chien search for one received parity word (message part = zeros).

    Writes the decoded message error positions (parts) into ``parts_out`` and the corrected parity
    positions into ``flips_out`` (``-1`` padded). Returns the number of errors, or ``-1`` on failure.
    """
    N = (1 << m) - 1
    for i in range(parts_out.shape[0]):
        parts_out[i] = -1
        flips_out[i] = -1
    two_t = 2 * t
    S = np.zeros(two_t + 1, dtype=np.int64)  # S[j] = r(α^j), j = 1..2t
    any_nz = False
    for j in range(1, two_t + 1):
        s = 0
        for p in range(r):
            if bits[p]:
                s ^= exp[(j * p) % N]
        S[j] = s
        if s != 0:
            any_nz = True
    if not any_nz:
        return 0
    # Berlekamp–Massey over GF(2^m)
    C = np.zeros(two_t + 2, dtype=np.int64)
    B = np.zeros(two_t + 2, dtype=np.int64)
    T = np.zeros(two_t + 2, dtype=np.int64)
    C[0] = 1
    B[0] = 1
    L = 0
    shift = 1
    bcoef = 1
    for i in range(two_t):
        d = S[i + 1]
        for ll in range(1, L + 1):
            if C[ll] != 0 and S[i + 1 - ll] != 0:
                d ^= exp[log[C[ll]] + log[S[i + 1 - ll]]]
        if d == 0:
            shift += 1
            continue
        coef_log = (log[d] - log[bcoef]) % N  # d / bcoef
        if 2 * L <= i:
            for ll in range(two_t + 2):
                T[ll] = C[ll]
            for ll in range(two_t + 2 - shift):
                if B[ll] != 0:
                    C[ll + shift] ^= exp[log[B[ll]] + coef_log]
            L = i + 1 - L
            for ll in range(two_t + 2):
                B[ll] = T[ll]
            bcoef = d
            shift = 1
        else:
            for ll in range(two_t + 2 - shift):
                if B[ll] != 0:
                    C[ll + shift] ^= exp[log[B[ll]] + coef_log]
            shift += 1
    if L > t:
        return -1
    # Chien search over the shortened code's positions 0 … r + n - 1: Λ(α^{-pos}) = 0
    found = 0
    nparts = 0
    nflips = 0
    for pos in range(r + n):
        acc = C[0]
        for ll in range(1, L + 1):
            if C[ll] != 0:
                e = (log[C[ll]] - pos * ll) % N
                acc ^= exp[e]
        if acc == 0:
            found += 1
            if found > L:
                return -1
            if pos >= r:
                parts_out[nparts] = pos - r
                nparts += 1
            else:
                flips_out[nflips] = pos
                nflips += 1
    if found != L:
        return -1
    return L
