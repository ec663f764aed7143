"""The cache under contention and failure: concurrent creation, file modes, full disk, locks, interrupts."""

import multiprocessing as mp
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import spectrex
from spectrex.engine import QueryCache, QueryEngine
from spectrex.engine.cache import CacheCorruptError, CacheFullError, CacheLockedError

SRC = str(Path(spectrex.__file__).resolve().parents[1])


def _open_and_store(path, barrier, k):
    barrier.wait()
    with QueryCache(path) as cache:
        ns = cache.namespace("fn", "input", 8)
        bits = np.array([[k * 10 + i] for i in range(10)], dtype=np.uint64)
        cache.store(ns, bits, np.arange(10, dtype=float) + k)


def test_eight_processes_open_one_new_file_at_once(tmp_path):
    path = tmp_path / "shared.db"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_open_and_store, args=(path, barrier, k)) for k in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 8
    with QueryCache(path) as cache:
        assert cache.count() == 80 and cache.count(cache.namespace("fn", "input", 8)) == 80


class _Conn:
    """A connection whose first ``locked`` WAL switches fail the way SQLite does, then one error of ``then``."""

    def __init__(self, locked: int, then: str | None = None) -> None:
        self.locked, self.then, self.calls = locked, then, 0

    def execute(self, sql):
        self.calls += 1
        if self.calls <= self.locked:
            raise sqlite3.OperationalError("database is locked")
        if self.then is not None:
            raise sqlite3.OperationalError(self.then)
        return type("Cursor", (), {"fetchone": lambda _: ("wal",)})()


def test_the_wal_switch_waits_out_a_lock_and_nothing_else(tmp_path):
    with QueryCache(tmp_path / "c.db", timeout=5) as cache:
        conn = _Conn(locked=3)
        assert cache._switch_to_wal(conn) == "wal" and conn.calls == 4  # retried past the lock
        conn = _Conn(locked=1, then="disk I/O error")
        with pytest.raises(sqlite3.OperationalError, match="disk I/O"):  # any other failure is final at once
            cache._switch_to_wal(conn)
        assert conn.calls == 2
    with QueryCache(tmp_path / "d.db", timeout=0.2) as cache:  # a lock that outlasts the timeout is final
        t0 = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            cache._switch_to_wal(_Conn(locked=10**9))
        assert time.monotonic() - t0 < 2


def test_wal_and_shm_are_private_even_when_the_file_was_not(tmp_path):
    path = tmp_path / "loose.db"
    QueryCache(path).close()
    os.chmod(path, 0o644)
    with QueryEngine(cache=path, cache_key="k") as engine:
        engine.bind(lambda m: m.sum(1), 4)(np.ones((3, 4), bool))
        files = [path, *tmp_path.glob("loose.db-*")]
        assert len(files) == 3
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_a_full_disk_is_told_apart_and_keeps_what_was_stored(tmp_path):
    path = tmp_path / "full.db"
    cache = QueryCache(path)
    ns = cache.namespace("fn", "", 64)
    cache.store(ns, np.arange(10, dtype=np.uint64).reshape(-1, 1), np.zeros(10))
    cache.conn.execute(f"PRAGMA max_page_count = {cache.conn.execute('PRAGMA page_count').fetchone()[0]}")
    big = np.arange(10, 100_010, dtype=np.uint64).reshape(-1, 1)
    with pytest.raises(CacheFullError, match="is full.*free some space.*stored before are kept") as info:
        cache.store(ns, big, np.zeros(len(big)))
    assert "delete" not in str(info.value) and "rollback" not in str(info.value)
    assert cache.count(ns) == 10
    cache.close()


def test_a_lock_held_too_long_is_told_apart(tmp_path):
    path = tmp_path / "locked.db"
    cache = QueryCache(path, timeout=0.2)
    ns = cache.namespace("fn", "", 8)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing and not letting go
    try:
        with pytest.raises(CacheLockedError, match="locked by another process.*its own cache file") as info:
            cache.store(ns, np.ones((1, 1), dtype=np.uint64), np.ones(1))
        assert "delete" not in str(info.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    cache.store(ns, np.ones((1, 1), dtype=np.uint64), np.ones(1))  # fine once the lock is gone
    assert cache.count(ns) == 1
    cache.close()


def test_a_damaged_file_never_says_delete(tmp_path):
    path = tmp_path / "bad.db"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    with pytest.raises(CacheCorruptError, match="damaged.*new cache path.*move it aside") as info:
        QueryCache(path)
    assert "delete" not in str(info.value)


CHILD = textwrap.dedent(
    """
    import signal
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started from a background job
    import sys, time, json
    import numpy as np
    from spectrex.engine import QueryEngine

    cache, log = sys.argv[1], sys.argv[2]

    class Slow:
        fingerprint = "slow-sum"

        def __call__(self, masks):
            time.sleep(0.15)
            with open(log, "a") as fh:  # every answer the function gave back
                fh.write("".join("".join("1" if b else "0" for b in row) + "\\n" for row in masks))
            return masks.sum(1).astype(float)

    masks = np.random.default_rng(0).random((4000, 16)) < 0.5
    engine = QueryEngine(batch_size=4, backend=sys.argv[3], workers=4, cache=cache)
    q = engine.bind(Slow(), 16)
    print("ready", flush=True)
    try:
        q(masks)
    except KeyboardInterrupt:
        print(json.dumps({"stored": engine.stored_answers}), flush=True)
        sys.exit(130)
    """
)


@pytest.mark.parametrize("backend", ["threads", "async"])
def test_sigint_during_a_threaded_run_loses_no_received_answer(tmp_path, backend):
    cache, log = tmp_path / "c.db", tmp_path / "answered.txt"
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cache), str(log), backend], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while (not log.exists() or len(log.read_text().splitlines()) < 40) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    answered = {line for line in log.read_text().splitlines() if line}
    with QueryCache(cache) as c:
        stored = c.count()
    assert len(answered) >= 40 and stored == len(answered)  # every answer the function returned is in the cache
    assert f'"stored": {stored}' in out  # and the interrupt tells the truth about it


def test_ctrl_c_is_held_while_an_answer_is_stored_even_with_worker_threads():
    """Python runs the SIGINT handler in the main thread whichever thread the OS picked, so the hold
    must not rely on the main thread's signal mask (a worker thread would take the signal)."""
    from spectrex.engine.query import _sigint_deferred

    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)  # a thread that does not block SIGINT
    worker.start()
    reached_end = False
    try:
        with pytest.raises(KeyboardInterrupt):
            with _sigint_deferred():
                if hasattr(signal, "pthread_sigmask"):
                    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # the OS must pick the worker
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    t0 = time.monotonic()
                    while time.monotonic() - t0 < 0.3:  # bytecodes run: a pending handler would fire here
                        pass
                    reached_end = True
                finally:
                    if hasattr(signal, "pthread_sigmask"):
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    finally:
        stop.set()
        worker.join()
    assert reached_end  # the interrupt came after the block, not inside it
