"""On-disk query cache: SQLite (WAL mode), one row per (value function, input, mask).

The key of a stored value is ``(function fingerprint, input fingerprint, n, mask bits)``. A value
function with several outputs per mask (token log-probabilities, labels) stores them together, as one
little-endian float64 vector per mask, in a table of their own. The two
fingerprints are strings chosen by whoever builds the value function (a model name + revision +
settings; a hash of the prompt); the mask is the bit-packed row of :mod:`spectrex.transforms.bitset`.
Writes are committed one batch at a time, so a process killed with SIGKILL loses at most the batch
in flight, and a later run with the same cache re-queries nothing that was stored.

The file holds model inputs (prompts), so it and its ``-wal`` / ``-shm`` companions are readable
and writable by their owner only. Any number of processes may open one new file at once (the
schema is created inside one write transaction). Failures are told apart — a full disk, a lock held
too long by another process, a damaged file — and no message tells a user to delete a file that
another run may be writing.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import numpy as np

from .. import retry
from ..errors import CacheError

#: bump when the layout changes; a file with another version is refused, never misread
SCHEMA_VERSION = 1

# answers of multi-output value functions; added without a version bump: files written before it
# gain the table when first opened, and older readers ignore it
_VECTORS = """CREATE TABLE IF NOT EXISTS vectors (
    ns INTEGER NOT NULL,
    mask BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (ns, mask)
) WITHOUT ROWID"""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS namespaces (
    id INTEGER PRIMARY KEY,
    function TEXT NOT NULL,
    input TEXT NOT NULL,
    n INTEGER NOT NULL,
    UNIQUE (function, input, n)
)""",
    """CREATE TABLE IF NOT EXISTS queries (
    ns INTEGER NOT NULL,
    mask BLOB NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (ns, mask)
) WITHOUT ROWID""",
    _VECTORS,
)


class CacheFullError(CacheError):
    """The disk (or the file's size limit) is full: nothing more can be stored."""


class CacheLockedError(CacheError):
    """Another process held the cache's lock for longer than the wait allowed."""


class CacheCorruptError(CacheError):
    """The file is damaged or is not a spectrex cache."""


def _private(path: Path) -> None:
    """Make ``path`` 0600 if it exists, is ours and is readable by others (best effort otherwise)."""
    try:
        st = path.stat()
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.chmod(path, 0o600)
    except (OSError, AttributeError):
        pass


class _WhileLocked(retry.RetryPolicy):
    """Retry only SQLite's "database is locked" (another process is switching the file to WAL)."""

    def retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()


class QueryCache:
    """A SQLite file of model answers, shared by every run that points at it.

    Parameters
    ----------
    path : str or Path
        The cache file; created (mode 0600) if missing.
    timeout : float, default 30
        Seconds to wait for another process's lock before giving up.

    Raises
    ------
    CacheError
        When the file is not a spectrex cache, is corrupt, or was written by an incompatible version
        (:class:`CacheCorruptError`), the disk is full (:class:`CacheFullError`), or another process
        keeps it locked (:class:`CacheLockedError`).
    """

    def __init__(self, path, timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.timeout = float(timeout)
        self._conn: sqlite3.Connection | None = None
        self._open()

    # -- opening ---------------------------------------------------------------------------------
    def _open(self) -> None:
        if self.path.is_dir():
            raise CacheError(f"cache path {self.path} is a directory; pass a file path such as {self.path}/queries.db")
        if not self.path.parent.exists():
            raise CacheError(f"the folder of cache file {self.path} does not exist; create it first")
        if not self.path.exists():
            # create it ourselves so the mode is 0600 from the first byte (sqlite would use 0644);
            # sqlite gives its -wal and -shm files the mode of the database file
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.close(fd)
            except FileExistsError:
                pass  # another process made it a moment ago
            except OSError as exc:
                raise CacheError(
                    f"cannot create cache file {self.path} ({exc}); check the folder's permissions"
                ) from None
        _private(self.path)  # before sqlite makes -wal/-shm with the file's mode
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            self._conn = conn
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = self._switch_to_wal(conn)
            if str(mode).lower() != "wal":
                raise CacheError(f"could not switch cache {self.path} to WAL mode (got {mode!r})")
            # WAL + NORMAL: a commit survives a killed process (not necessarily a power cut), and costs no fsync
            conn.execute("PRAGMA synchronous = NORMAL")
            tables = self._tables()
            if not tables:
                # one write transaction: of N processes opening a new file at once, one creates the
                # schema and the others find it (no UNIQUE-constraint race)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('application', 'spectrex')")
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                tables = self._tables()
            self._check_version(tables)
            if "vectors" not in tables:
                conn.execute(_VECTORS)
        except CacheError:
            self.close()
            raise
        except sqlite3.Error as exc:
            self.close()
            raise self._error(exc, "open") from exc
        for suffix in ("-wal", "-shm"):
            _private(self.path.with_name(self.path.name + suffix))

    def _switch_to_wal(self, conn: sqlite3.Connection) -> str:
        """Set WAL mode, retrying while another process holds the new file's lock.

        Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is
        locked" at once, without its busy handler, when two openers both hold a shared lock and
        both ask for it (to avoid a deadlock) — so the wait is done here, up to ``timeout``.
        """
        policy = _WhileLocked(max_retries=sys.maxsize, base_delay=0.005, max_delay=0.05, deadline=self.timeout or 1e-3)
        return retry.call(lambda _: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0], policy)

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _check_version(self, tables: set[str]) -> None:
        if "meta" not in tables:
            raise CacheCorruptError(
                f"{self.path} is a SQLite file but not a spectrex query cache (no 'meta' table); "
                "pass a new file path for the cache"
            )
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = None if row is None else row[0]
        if version != str(SCHEMA_VERSION):
            raise CacheError(
                f"cache {self.path} was written with cache schema version {version}, but this spectrex reads "
                f"version {SCHEMA_VERSION}; point --cache/cache= at a new file (the stored queries will be made "
                "again), or use the spectrex version that wrote it"
            )
        missing = {"namespaces", "queries"} - tables
        if missing:
            raise CacheCorruptError(
                f"cache {self.path} is incomplete (missing tables {sorted(missing)}); pass a new cache path "
                "(or, once no other spectrex run uses it, move this file aside)"
            )

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
        except sqlite3.Error as exc:
            raise self._error(exc, "write") from exc
        return int(row[0])

    def load(self, ns: int, words: int) -> tuple[np.ndarray, np.ndarray]:
        """Every stored (mask bits, answers) of a namespace: ``(k, words)`` uint64 rows and ``(k, m)`` floats."""
        try:
            rows = self.conn.execute("SELECT mask, value FROM queries WHERE ns = ?", (ns,)).fetchall()
            vectors = self.conn.execute("SELECT mask, value FROM vectors WHERE ns = ?", (ns,)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from exc
        damaged = CacheCorruptError(
            f"cache {self.path} holds masks or answers of the wrong width for this key, so it is damaged; pass a "
            "new cache path (or, once no other spectrex run uses it, move this file aside)"
        )
        if rows and vectors:
            raise damaged  # one function gives one or several outputs per mask, never both
        width = 8 * words
        if not rows and not vectors:
            return np.zeros((0, words), dtype=np.uint64), np.zeros((0, 1))
        masks, values = zip(*(rows or vectors))
        if any(len(m) != width for m in masks):
            raise damaged
        bits = np.frombuffer(b"".join(masks), dtype="<u8").reshape(len(masks), words).astype(np.uint64)
        if rows:
            return bits, np.asarray(values, dtype=np.float64)[:, None]
        sizes = {len(v) for v in values}
        if len(sizes) != 1 or sizes.pop() % 8:
            raise damaged
        return bits, np.frombuffer(b"".join(values), dtype="<f8").reshape(len(values), -1).astype(np.float64)

    def store(self, ns: int, bits: np.ndarray, values: np.ndarray) -> None:
        """Store one batch and commit it (one transaction per batch).

        ``values`` is ``(k,)`` or ``(k, 1)`` (one answer per mask) or ``(k, m)`` (``m`` outputs per mask).
        """
        if len(values) == 0:
            return
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        raw = np.ascontiguousarray(bits, dtype="<u8")
        width = raw.shape[1] * 8
        buf = raw.tobytes()
        masks = [buf[i * width : (i + 1) * width] for i in range(len(values))]
        if values.shape[1] == 1:
            table, rows = "queries", [(ns, m, float(v)) for m, v in zip(masks, values[:, 0].tolist())]
        else:
            vec = np.ascontiguousarray(values, dtype="<f8")
            table, rows = "vectors", [(ns, m, vec[i].tobytes()) for i, m in enumerate(masks)]
        conn = self.conn
        try:
            conn.execute("BEGIN")
            try:
                conn.executemany(f"INSERT OR REPLACE INTO {table} (ns, mask, value) VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT (disk full) may have rolled back already
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error(exc, "write") from exc

    def count(self, ns: int | None = None) -> int:
        """Number of stored queries (in one namespace, or in all)."""
        try:
            where, args = ("", ()) if ns is None else (" WHERE ns = ?", (ns,))
            return sum(
                int(self.conn.execute(f"SELECT COUNT(*) FROM {table}{where}", args).fetchone()[0])
                for table in ("queries", "vectors")
            )
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from exc

    def _error(self, exc: sqlite3.Error, action: str) -> CacheError:
        """A :class:`CacheError` that says which failure this is and what to do about it."""
        name = str(getattr(exc, "sqlite_errorname", "") or "")
        text = str(exc).lower()
        kept = " The answers stored before are kept." if action == "write" else ""
        if name.startswith("SQLITE_FULL") or "full" in text:
            return CacheFullError(
                f"the disk holding cache {self.path} is full ({exc}); free some space or point --cache/cache= at "
                f"a file on another disk, then run again.{kept}"
            )
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return CacheLockedError(
                f"cache {self.path} stayed locked by another process for more than {self.timeout:g} s ({exc}); "
                f"wait for the other spectrex run to finish, or give this run its own cache file.{kept}"
            )
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
            return CacheCorruptError(
                f"cache {self.path} is damaged or is not a spectrex cache ({exc}); pass a new cache path. Once "
                f"no other spectrex run uses it, you may move it aside (mv {self.path} {self.path}.bad)."
            )
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
            return CacheError(
                f"cannot {action} cache {self.path} ({exc}); check that you may write the file and its folder"
            )
        return CacheError(
            f"cache {self.path} could not be {'read' if action == 'read' else 'written'} ({exc}); check the disk "
            f"and the file's permissions, or pass another cache path.{kept}"
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
