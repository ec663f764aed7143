import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _own_answer_cache(tmp_path_factory, monkeypatch):
    """Each test keeps CLI answers (``$SPECTREX_CACHE/answers``) in a folder of its own, never the user's;
    converted models are shared with the user's cache (linked), so nothing is converted twice."""
    import os

    from spectrex.models._cache import cache_root

    real = cache_root()
    own = tmp_path_factory.mktemp("spectrex-cache")
    for sub in ("models", "gguf"):
        (real / sub).mkdir(parents=True, exist_ok=True)
        (own / sub).symlink_to(real / sub, target_is_directory=True)
    monkeypatch.setenv("SPECTREX_CACHE", os.fspath(own))
