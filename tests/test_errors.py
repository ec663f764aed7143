"""One "too large" error: ResourceError, raised wherever a design, a conversion or an oracle would not fit."""

import numpy as np
import pytest

import spectrex
from spectrex.bounds import check_design
from spectrex.decoders.baselines import fourier_features
from spectrex.errors import ResourceError
from spectrex.transforms import bitset
from spectrex.transforms.sparse import superset_sum
from spectrex.transforms.wht import all_masks


@pytest.mark.parametrize(
    "call",
    [
        lambda: check_design(10**6, 10**6, "SPEX"),
        lambda: fourier_features(np.zeros((200_000, 100), bool), 2),
        lambda: all_masks(40),
        lambda: superset_sum(bitset.from_indices([tuple(range(40))], 40), np.ones(1), 40, lambda s, t: 1.0),
    ],
    ids=["memory bound", "order-2 design", "all masks", "conversion"],
)
def test_every_too_large_case_raises_resource_error(call):
    with pytest.raises(ResourceError) as info:
        call()
    err = info.value
    assert isinstance(err, MemoryError) and isinstance(err, ValueError) and isinstance(err, spectrex.SpectrexError)
    assert err.needed is not None and err.needed > err.limit
    assert spectrex.ResourceError is ResourceError
