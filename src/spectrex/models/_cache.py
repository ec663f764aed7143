"""Where spectrex keeps converted model weights: ``$SPECTREX_CACHE`` or ``~/.cache/spectrex``."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """The user's spectrex cache folder (``$SPECTREX_CACHE``, else ``~/.cache/spectrex``)."""
    env = os.environ.get("SPECTREX_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "spectrex"


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Create folder ``target`` by ``build(tmp)`` into a temporary sibling, then rename it into place.

    The rename is atomic, so an interrupted build leaves no half-written ``target`` behind and a
    concurrent builder's result is kept (the loser's copy is discarded).
    """
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
