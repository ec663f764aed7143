"""On-disk cache: round trip, reuse across runs, file mode, corrupt and wrong-version files."""

import os
import sqlite3
import stat

import numpy as np
import pytest

import spectrex
from spectrex.engine import SCHEMA_VERSION, QueryCache, QueryEngine, fingerprint
from spectrex.engine.cache import CacheCorruptError
from spectrex.errors import CacheError
from spectrex.synthetic import planted


class Model:
    def __init__(self, f, tag="planted-v1"):
        self.f, self.fingerprint, self.calls = f, tag, 0

    def __call__(self, masks):
        self.calls += len(masks)
        return self.f(masks)


def test_values_round_trip_exactly(tmp_path):
    path = tmp_path / "q.db"
    rng = np.random.default_rng(0)
    masks = rng.random((300, 100)) < 0.5
    values = rng.normal(size=300) * 1e-3 + np.pi  # full float64 precision must survive
    with QueryEngine(batch_size=64, cache=path, cache_key="table") as engine:
        lookup = {r.tobytes(): v for r, v in zip(masks, values)}
        q = engine.bind(lambda m: np.array([lookup[r.tobytes()] for r in m]), 100)
        np.testing.assert_array_equal(q(masks), values)
    with QueryEngine(cache=path, cache_key="table") as engine:
        q = engine.bind(lambda m: np.full(len(m), np.nan), 100)  # must never be called
        np.testing.assert_array_equal(q(masks[::-1]), values[::-1])
        assert q.stats.sent == 0 and q.stats.cached == q.stats.cached_disk == 300
    with QueryEngine(cache=path) as engine:  # another key shares nothing
        other = engine.bind(Model(lambda m: m.sum(1).astype(float), "other"), 100)
        np.testing.assert_array_equal(other(masks[:5]), masks[:5].sum(1))
        assert other.stats.sent == 5


def test_explain_with_cache_reuses_answers_and_reports_them(tmp_path):
    f = planted(9, 6, 3, 1)
    path = tmp_path / "run.db"
    first_model = Model(f)
    r1 = spectrex.explain(first_model, 9, method="exact", cache=path)
    assert first_model.calls == 512 and r1.metadata["queries"] == 512 and r1.metadata["queries_cached"] == 0
    assert r1.metadata["engine"]["cache"] == str(path)
    again = Model(f)
    r2 = spectrex.explain(again, 9, method="exact", cache=path)
    assert again.calls == 0 and r2.metadata["queries"] == 0 and r2.metadata["queries_cached"] == 512
    np.testing.assert_array_equal(r1.transform.coefs, r2.transform.coefs)
    with pytest.raises(ValueError, match="not both"):
        spectrex.explain(again, 9, method="exact", cache=path, engine=QueryEngine())


def test_cache_file_is_private(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "private.db"
        with QueryEngine(cache=path, cache_key="k") as engine:
            engine.bind(lambda m: m.sum(1), 4)(np.ones((3, 4), bool))
            for p in [path, *tmp_path.glob("private.db-*")]:  # the -wal / -shm files too
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(CacheCorruptError, match="damaged or is not a spectrex cache.*new cache path") as info:
        QueryCache(path)
    assert "delete" not in str(info.value)  # another run may be writing it


def test_damaged_cache_is_detected(tmp_path):
    path = tmp_path / "damaged.db"
    with QueryEngine(batch_size=50, cache=path, cache_key="k") as engine:
        engine.bind(lambda m: m.sum(1), 40)(np.random.default_rng(0).random((3000, 40)) < 0.5)
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # overwrite pages in the middle of the b-tree
        fh.seek(size // 2)
        fh.write(b"\xff" * 8192)
    with pytest.raises(CacheError, match="damaged|could not be read"):
        with QueryEngine(cache=path, cache_key="k") as engine:
            engine.bind(lambda m: m.sum(1), 40)(np.ones((1, 40), bool))


def test_other_version_and_foreign_sqlite_are_refused(tmp_path):
    path = tmp_path / "old.db"
    QueryCache(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(CacheError, match=f"schema version {SCHEMA_VERSION + 1}.*reads version {SCHEMA_VERSION}"):
        QueryCache(path)
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    with pytest.raises(CacheError, match="not a spectrex query cache"):
        QueryCache(foreign)
    with pytest.raises(CacheError, match="is a directory"):
        QueryCache(tmp_path)


def test_fingerprint_helper_is_stable_and_sensitive():
    a = fingerprint("gpt2", "rev1", np.arange(3))
    assert a == fingerprint("gpt2", "rev1", np.arange(3))
    assert a != fingerprint("gpt2", "rev2", np.arange(3))
    assert a != fingerprint("gpt2", "rev1", np.arange(3).astype(np.int32))
