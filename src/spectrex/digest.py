"""Stable digests that name a value function's answers (cache keys, fingerprints)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np


def identity_hash(obj: Any) -> str:
    """The 32-hex-digit digest of a JSON-able identity (keys sorted; other objects by ``str``)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]


def fingerprint(*parts) -> str:
    """A stable hex digest of strings, bytes, numbers or numpy arrays (for building cache keys).

    Examples
    --------
    >>> fingerprint("gpt2", "rev-abc", 0.7)[:12]  # doctest: +SKIP
    """
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            p = p.astype(str) if p.dtype == object else p  # object arrays hold pointers: hash their text
            h.update(str((p.dtype.str, p.shape)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        elif isinstance(p, bytes):
            h.update(p)
        else:
            h.update(repr(p).encode() if not isinstance(p, str) else p.encode())
        h.update(b"\x1f")
    return h.hexdigest()
