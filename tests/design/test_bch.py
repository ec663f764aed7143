from itertools import combinations

import numpy as np
import pytest

from spectrex.design.bch import bch_code, generator_poly, gf_tables


@pytest.mark.parametrize("m", range(2, 17))
def test_field_tables_are_a_primitive_field(m):
    exp, log = gf_tables(m)
    N = (1 << m) - 1
    assert sorted(exp[:N].tolist()) == list(range(1, N + 1))  # α generates every non-zero element
    assert np.array_equal(exp[log[1:]], np.arange(1, N + 1))


@pytest.mark.parametrize(
    ("n", "t", "length", "parity_bits"),
    # textbook primitive BCH parameters: (31,21) t=2, (127,106) t=3, (511,484) t=3, (2047,1992) t=5
    [(16, 2, 31, 10), (64, 3, 127, 21), (256, 3, 511, 27), (1000, 5, 2047, 55)],
)
def test_code_parameters_match_bch_tables(n, t, length, parity_bits):
    code = bch_code(n, t)
    assert code.length == length
    assert code.r == parity_bits
    assert code.length - code.r >= n


@pytest.mark.parametrize(("m", "t"), [(5, 2), (6, 3), (7, 3), (9, 4)])
def test_generator_has_the_designed_roots(m, t):
    exp, log = gf_tables(m)
    g = generator_poly(m, t)
    N = (1 << m) - 1
    for j in range(1, 2 * t + 1):  # g(α^j) = 0 for j = 1..2t: designed distance 2t+1
        acc = 0
        for d in range(g.bit_length()):
            if (g >> d) & 1:
                acc ^= int(exp[(j * d) % N])
        assert acc == 0


def test_encoding_is_linear_and_systematic():
    code = bch_code(20, 3)
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 50, 20)) < 0.3
    assert np.array_equal(code.encode(a ^ b), code.encode(a) ^ code.encode(b))
    # column i is x^(r+i) mod g: the full codeword polynomial is divisible by g
    g = generator_poly(code.m, 3)
    for i in (0, 7, 19):
        word = sum(int(bit) << p for p, bit in enumerate(code.parity[:, i])) | (1 << (code.r + i))
        rem = word
        while rem.bit_length() > g.bit_length() - 1:
            rem ^= g << (rem.bit_length() - g.bit_length())
        assert rem == 0


def _decoded_sets(code, bits):
    parts, ok = code.decode(bits)
    return ok, [tuple(sorted(int(x) for x in row if x >= 0)) for row in parts]


def test_decodes_every_support_up_to_t():
    n, t = 12, 3
    code = bch_code(n, t)
    supports = [s for w in range(t + 1) for s in combinations(range(n), w)]
    dense = np.zeros((len(supports), n), dtype=bool)
    for row, s in enumerate(supports):
        dense[row, list(s)] = True
    ok, got = _decoded_sets(code, code.encode(dense))
    assert ok.all()
    assert got == supports


def test_corrects_flipped_parity_bits_within_t():
    n, t = 64, 3
    code = bch_code(n, t)
    rng = np.random.default_rng(1)
    for _ in range(200):
        w = int(rng.integers(0, t + 1))
        k = np.zeros(n, dtype=bool)
        k[rng.choice(n, w, replace=False)] = True
        bits = code.encode(k[None])[0]
        bits[rng.choice(code.r, t - w, replace=False)] ^= True  # noise flips within the budget
        ok, got = _decoded_sets(code, bits[None])
        assert ok[0] and got[0] == tuple(np.flatnonzero(k))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        bch_code(0, 2)
    with pytest.raises(ValueError):
        gf_tables(40)
