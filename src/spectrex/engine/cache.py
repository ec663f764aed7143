"""On-disk query cache: SQLite (WAL mode), one row per (value function, input, mask).

The key of a stored value is ``(function fingerprint, input fingerprint, n, mask bits)``. The two
fingerprints are strings chosen by whoever builds the value function (a model name + revision +
settings; a hash of the prompt); the mask is the bit-packed row of :mod:`spectrex.transforms.bitset`.
Writes are committed one batch at a time, so a process killed with SIGKILL loses at most the batch
in flight, and a later run with the same cache re-queries nothing that was stored.

The file holds model inputs (prompts), so it is created readable and writable by its owner only.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np

from ..errors import CacheError

#: bump when the layout changes; a file with another version is refused, never misread
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
    id INTEGER PRIMARY KEY,
    function TEXT NOT NULL,
    input TEXT NOT NULL,
    n INTEGER NOT NULL,
    UNIQUE (function, input, n)
);
CREATE TABLE IF NOT EXISTS queries (
    ns INTEGER NOT NULL,
    mask BLOB NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (ns, mask)
) WITHOUT ROWID;
"""


def fingerprint(*parts) -> str:
    """A stable hex digest of strings, bytes, numbers or numpy arrays (for building cache keys).

    Examples
    --------
    >>> fingerprint("gpt2", "rev-abc", 0.7)[:12]  # doctest: +SKIP
    """
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str((p.dtype.str, p.shape)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        elif isinstance(p, bytes):
            h.update(p)
        else:
            h.update(repr(p).encode() if not isinstance(p, str) else p.encode())
        h.update(b"\x1f")
    return h.hexdigest()


class QueryCache:
    """A SQLite file of model answers, shared by every run that points at it.

    Parameters
    ----------
    path : str or Path
        The cache file; created (mode 0600) if missing.

    Raises
    ------
    CacheError
        When the file is not a spectrex cache, is corrupt, or was written by an incompatible version.
    """

    def __init__(self, path) -> None:
        self.path = Path(path).expanduser()
        self._conn: sqlite3.Connection | None = None
        self._open()

    # -- opening ---------------------------------------------------------------------------------
    def _open(self) -> None:
        if self.path.is_dir():
            raise CacheError(f"cache path {self.path} is a directory; pass a file path such as {self.path}/queries.db")
        if not self.path.parent.exists():
            raise CacheError(f"the folder of cache file {self.path} does not exist; create it first")
        created = False
        if not self.path.exists():
            # create it ourselves so the mode is 0600 from the first byte (sqlite would use 0644);
            # sqlite gives its -wal and -shm files the mode of the database file
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.close(fd)
                created = True
            except FileExistsError:
                pass
        try:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._conn = conn
            conn.execute("PRAGMA busy_timeout = 30000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise CacheError(f"could not switch cache {self.path} to WAL mode (got {mode!r})")
            # WAL + NORMAL: a commit survives a killed process (not necessarily a power cut), and costs no fsync
            conn.execute("PRAGMA synchronous = NORMAL")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                conn.executescript(_SCHEMA)
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                conn.execute("INSERT INTO meta VALUES ('application', 'spectrex')")
            else:
                self._check_version(tables)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise CacheError(
                f"cache file {self.path} is corrupt or is not a spectrex cache ({exc}); "
                "delete it (or pass another path) and the queries will be made again"
            ) from exc
        if created or (self.path.stat().st_mode & 0o077):
            os.chmod(self.path, 0o600)

    def _check_version(self, tables: set[str]) -> None:
        if "meta" not in tables:
            raise CacheError(
                f"{self.path} is a SQLite file but not a spectrex query cache (no 'meta' table); "
                "pass a new file path for the cache"
            )
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = None if row is None else row[0]
        if version != str(SCHEMA_VERSION):
            raise CacheError(
                f"cache {self.path} was written with cache schema version {version}, but this spectrex reads "
                f"version {SCHEMA_VERSION}; delete the file or point --cache/cache= at a new one "
                "(the stored queries will be made again)"
            )
        missing = {"namespaces", "queries"} - tables
        if missing:
            raise CacheError(f"cache {self.path} is incomplete (missing tables {sorted(missing)}); delete it")

    # -- use -------------------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise CacheError(f"cache {self.path} is closed")
        return self._conn

    def namespace(self, function: str, input: str, n: int) -> int:
        """The id of the (function, input, n) key prefix, created on first use."""
        try:
            self.conn.execute(
                "INSERT OR IGNORE INTO namespaces (function, input, n) VALUES (?, ?, ?)", (function, input, int(n))
            )
            row = self.conn.execute(
                "SELECT id FROM namespaces WHERE function = ? AND input = ? AND n = ?", (function, input, int(n))
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc
        return int(row[0])

    def load(self, ns: int, words: int) -> tuple[np.ndarray, np.ndarray]:
        """Every stored (mask bits, value) of a namespace: ``(m, words)`` uint64 rows and ``(m,)`` floats."""
        try:
            rows = self.conn.execute("SELECT mask, value FROM queries WHERE ns = ?", (ns,)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc
        width = 8 * words
        if not rows:
            return np.zeros((0, words), dtype=np.uint64), np.zeros(0)
        masks, values = zip(*rows)
        if any(len(m) != width for m in masks):
            raise CacheError(f"cache {self.path} holds masks of the wrong width for this key; it is corrupt, delete it")
        bits = np.frombuffer(b"".join(masks), dtype="<u8").reshape(len(rows), words).astype(np.uint64)
        return bits, np.asarray(values, dtype=np.float64)

    def store(self, ns: int, bits: np.ndarray, values: np.ndarray) -> None:
        """Store one batch and commit it (one transaction per batch)."""
        if len(values) == 0:
            return
        raw = np.ascontiguousarray(bits, dtype="<u8")
        width = raw.shape[1] * 8
        buf = raw.tobytes()
        rows = [(ns, buf[i * width : (i + 1) * width], float(v)) for i, v in enumerate(values.tolist())]
        conn = self.conn
        try:
            conn.execute("BEGIN")
            try:
                conn.executemany("INSERT OR REPLACE INTO queries (ns, mask, value) VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc

    def count(self, ns: int | None = None) -> int:
        """Number of stored queries (in one namespace, or in all)."""
        if ns is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM queries").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM queries WHERE ns = ?", (ns,)).fetchone()[0])

    def _corrupt(self, exc: Exception) -> CacheError:
        return CacheError(
            f"cache file {self.path} could not be read or written ({exc}); if it is corrupt, delete it "
            "(the stored queries will be made again)"
        )

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def __enter__(self) -> QueryCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"QueryCache({str(self.path)!r})"
