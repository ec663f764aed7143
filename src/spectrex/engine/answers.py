"""A folder of answer caches kept by default: one SQLite file per value function and input, bounded.

Single explanations keep their model answers here (the CLI uses ``$SPECTREX_CACHE/answers``), so
an interrupted run resumes and a repeated one re-queries nothing. A file is named by a digest of
the value function's fingerprints (model, settings, input, number of parts), the same identity the
cache keys its rows by. The folder is bounded: files unused for :data:`MAX_AGE_S` are removed, then
the least recently used until the folder is under :data:`MAX_BYTES`.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

#: files not used for this long are removed (30 days)
MAX_AGE_S = 30 * 24 * 3600.0
#: the folder is trimmed to this size, least recently used files first (512 MiB)
MAX_BYTES = 512 * 2**20
SUFFIX = ".sqlite"


def answer_file(folder: str | Path, function: str, input: str, n: int) -> Path:
    """The cache file of one value function (``function`` fingerprint) on one input over ``n`` parts."""
    digest = hashlib.sha256(f"{function}\0{input}\0{int(n)}".encode()).hexdigest()[:32]
    return Path(folder) / f"{digest}{SUFFIX}"


def _size(path: Path) -> int:
    total = 0
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            total += companion.stat().st_size
        except OSError:
            pass
    return total


def _remove(path: Path) -> None:
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            companion.unlink()
        except OSError:
            pass


def prune(
    folder: str | Path, keep: Path | None = None, max_bytes: int = MAX_BYTES, max_age_s: float = MAX_AGE_S
) -> int:
    """Remove stale and least recently used cache files of ``folder`` (never ``keep``); returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now = time.time()
    files = []
    for path in folder.glob(f"*{SUFFIX}"):
        try:
            files.append((path.stat().st_mtime, path))
        except OSError:
            continue
    removed = 0
    kept = []
    for mtime, path in files:
        if path != keep and now - mtime > max_age_s:
            _remove(path)
            removed += 1
        else:
            kept.append((mtime, path))
    total = sum(_size(p) for _, p in kept)
    for _, path in sorted(kept):  # oldest first
        if total <= max_bytes:
            break
        if path == keep:
            continue
        total -= _size(path)
        _remove(path)
        removed += 1
    return removed


def touch(path: Path) -> None:
    """Mark ``path`` as used now (its age is counted from its last use)."""
    try:
        os.utime(path)
    except OSError:
        pass
