"""Query engine: batching, de-duplication, out-of-memory back-off, faults and progress."""

import threading
import time

import numpy as np
import pytest

from spectrex.engine import LocalBackend, QueryEngine, ThreadBackend
from spectrex.errors import CacheError, ValueFunctionError


class Counting:
    """Sum of kept parts, recording every batch it is called with."""

    fingerprint = "counting-sum-v1"

    def __init__(self):
        self.batches = []

    def __call__(self, masks):
        self.batches.append(masks.copy())
        return masks.sum(1).astype(float)

    @property
    def rows(self):
        return sum(len(b) for b in self.batches)


def random_masks(q, n, seed=0):
    return np.random.default_rng(seed).random((q, n)) < 0.5


@pytest.mark.parametrize("n", [5, 64, 130])
def test_dedup_within_and_across_calls(n):
    f = Counting()
    q = QueryEngine(batch_size=16).bind(f, n)
    m = random_masks(100, n)
    m = np.vstack([m, m[::3], m[:7]])
    np.testing.assert_array_equal(q(m), m.sum(1))
    uniq = np.unique(m, axis=0).shape[0]
    assert f.rows == uniq == q.stats.sent
    assert max(len(b) for b in f.batches) == 16
    m2 = np.vstack([m[:40], random_masks(10, n, seed=1)])
    np.testing.assert_array_equal(q(m2), m2.sum(1))
    known = {r.tobytes() for r in m}
    new = {r.tobytes() for r in m2} - known
    assert f.rows == uniq + len(new)  # rows asked for before were not sent again
    assert q.stats.cached == len({r.tobytes() for r in m2} & known)
    assert q.stats.requested == len(m) + len(m2)


def test_batch_size_validation():
    with pytest.raises(ValueError, match="batch_size"):
        QueryEngine(batch_size=0)
    with pytest.raises(ValueError, match="on_error"):
        QueryEngine(on_error="ignore")
    with pytest.raises(ValueError, match="unknown backend"):
        QueryEngine(backend="gpu-cluster")
    assert QueryEngine().resolve_batch_size() == 8  # no GPU here: auto starts at 8 …
    assert QueryEngine().auto_limit() == 256  # … and grows up to 256 while batches are quick


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.OutOfMemoryError (matched by name, so torch is never imported)."""


def test_oom_backoff_settles_on_largest_batch_that_fits():
    seen = []

    def gpu_model(masks):
        seen.append(len(masks))
        if len(masks) > 100:
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return masks.sum(1).astype(float)

    engine = QueryEngine(batch_size=512)
    q = engine.bind(gpu_model, 10)
    m = random_masks(1000, 10, seed=3)
    m = np.unique(m, axis=0)
    np.testing.assert_array_equal(q(m), m.sum(1))
    assert seen[:3] == [512, 256, 128]  # halved until it fits …
    assert max(seen[3:]) == 64 and engine.backend.chunk == 64  # … then kept at the size that fits
    assert engine.backend.oom_events == 3
    # a plain RuntimeError is not an out-of-memory error: reported, not backed off
    backend = LocalBackend()
    out = backend._call(lambda m: (_ for _ in ()).throw(RuntimeError("shape mismatch")), np.ones((4, 2), bool))
    assert isinstance(out, RuntimeError) and backend.oom_events == 0


def test_oom_on_single_row_is_an_error():
    def hopeless(masks):
        raise OutOfMemoryError("CUDA out of memory")

    with pytest.raises(ValueFunctionError, match="OutOfMemoryError"):
        QueryEngine(batch_size=8).bind(hopeless, 3)(random_masks(8, 3))


def test_nan_rows_are_retried_once_then_named():
    m = np.unique(random_masks(64, 8, seed=4), axis=0)
    target = m[5]
    calls = []

    def flaky(masks):
        calls.append(len(masks))
        out = masks.sum(1).astype(float)
        if len(calls) == 1:
            out[(masks == target).all(1)] = np.nan  # transient: fine on the retry
        return out

    q = QueryEngine(batch_size=len(m)).bind(flaky, 8)
    np.testing.assert_array_equal(q(m), m.sum(1))
    assert calls == [len(m), 1] and q.stats.retried_rows == 1

    def broken(masks):
        out = masks.sum(1).astype(float)
        out[masks[:, 0] & masks[:, 1]] = np.inf
        return out

    q = QueryEngine(batch_size=16).bind(broken, 8)
    bad = np.flatnonzero(m[:, 0] & m[:, 1])
    with pytest.raises(ValueFunctionError, match="failed on .* mask.*also when retried") as err:
        q(m)
    assert sorted(err.value.rows) == bad.tolist()
    assert "parts kept {0, 1" in str(err.value) and "on_error='drop'" in str(err.value)


def test_drop_returns_nan_and_counts():
    m = np.unique(random_masks(64, 8, seed=5), axis=0)

    def broken(masks):
        if masks[:, 2].any():
            raise ZeroDivisionError("part 2 breaks the model")
        return masks.sum(1).astype(float)

    q = QueryEngine(batch_size=8, on_error="drop").bind(broken, 8)
    v = q(m)
    bad = m[:, 2]
    assert np.isnan(v[bad]).all()
    np.testing.assert_array_equal(v[~bad], m[~bad].sum(1))
    assert q.stats.dropped == bad.sum() and q.stats.sent == (~bad).sum()


def test_raising_batch_stops_run_but_keeps_answers(tmp_path):
    m = np.unique(random_masks(200, 9, seed=6), axis=0)
    state = {"calls": 0}

    def dies_later(masks):
        state["calls"] += 1
        if state["calls"] == 4:
            raise ConnectionResetError("model server went away")  # not retried by LocalBackend.retry? it is
        if state["calls"] >= 4:
            raise KeyError("model broken for good")
        return masks.sum(1).astype(float)

    dies_later.fingerprint = "dies-later"
    engine = QueryEngine(batch_size=10, cache=tmp_path / "c.db")
    engine.backend.retry.max_retries = 0
    q = engine.bind(dies_later, 9)
    with pytest.raises(ValueFunctionError, match="KeyError") as err:
        q(m)
    assert len(err.value.rows) == 10  # the rows of the failed batch, each retried alone
    assert q.stats.sent == 30 and engine.open_cache().count() == 30  # three good batches stayed
    engine.close()


@pytest.mark.parametrize("transient", [True, False])
def test_a_batch_that_raises_has_every_row_retried_alone_and_none_lost(transient):
    # a non-retryable error (here ValueError) has each of the batch's rows retried alone, to name the bad
    # one; the retry pass once stopped after the first of them, and the batch's other rows came back NaN
    # without an error (7 of 8), also on Ray when one worker died while another's batch raised
    m = np.unique(random_masks(400, 12, seed=2), axis=0)
    calls, failed = [], []

    def flaky(masks):
        calls.append(len(masks))
        if len(calls) == 3 or (not transient and len(calls) > 3 and len(masks) == 1):
            failed.append(masks.copy())
            raise ValueError("a hiccup")
        return masks.sum(1) * 1.5

    q = QueryEngine(batch_size=8).bind(flaky, 12)
    if transient:
        np.testing.assert_array_equal(q(m), m.sum(1) * 1.5)
        assert calls[3:11] == [1] * 8 and q.stats.retried_rows == 8 and q.stats.sent == len(m)
    else:
        with pytest.raises(ValueFunctionError, match="failed on 8 mask") as err:
            q(m)
        named = {m[i].tobytes() for i in err.value.rows}  # every row of the third batch, each retried and named
        assert len(named) == 8 and named == {row.tobytes() for row in failed[0]}


def test_a_failure_keeps_the_answers_of_the_batches_under_way():
    # threads: when a batch raises, the batches already running finish; their answers are kept (drain), so
    # every row reaches the model once, plus the failed batch's rows retried alone
    m = np.unique(random_masks(400, 12, seed=3), axis=0)
    seen, lock = [], threading.Lock()

    def slow(masks):
        with lock:
            seen.append(len(masks))
            third = len(seen) == 3
        time.sleep(0.02)
        if third:
            raise ValueError("a hiccup")
        return masks.sum(1) * 1.5

    q = QueryEngine(batch_size=8, backend=ThreadBackend(max_workers=4)).bind(slow, 12)
    np.testing.assert_array_equal(q(m), m.sum(1) * 1.5)
    assert sum(seen) == len(m) + 8 and q.stats.retried_rows == 8


def test_progress_callback_and_validation():
    seen = []
    q = QueryEngine(batch_size=10, progress=lambda done, total: seen.append((done, total))).bind(Counting(), 6)
    q.expect(64)
    q(np.unique(random_masks(200, 6, seed=7), axis=0))
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and dones[-1] == q.stats.sent
    assert all(t >= d for d, t in seen)
    with pytest.raises(TypeError, match="progress"):
        QueryEngine(progress="loud")


def test_anonymous_function_is_not_cached(tmp_path):
    engine = QueryEngine(cache=tmp_path / "c.db")
    with pytest.raises(CacheError, match="no `fingerprint`.*cache_key"):
        engine.bind(lambda m: m.sum(1), 3)
    q = QueryEngine(cache=tmp_path / "c.db", cache_key="sum-of-parts").bind(lambda m: m.sum(1), 3)
    assert q.fingerprint == ("sum-of-parts", "")

    class Model:
        fingerprint = "model-a"
        input_fingerprint = "prompt-1"

        def score(self, masks):
            return masks.sum(1)

    assert QueryEngine(cache=tmp_path / "c.db").bind(Model().score, 3).fingerprint == ("model-a", "prompt-1")
    with pytest.raises(TypeError, match="cache_key"):
        QueryEngine(cache=tmp_path / "c.db", cache_key=7).bind(Model().score, 3)


def test_server_outage_retries_the_batch_whole_not_row_by_row():
    from spectrex.engine import RetryPolicy

    sizes = []

    def remote(masks):
        sizes.append(len(masks))
        if len(sizes) <= 2:
            raise TimeoutError("read timed out")  # beyond the backend's one retry
        return masks.sum(1).astype(float)

    engine = QueryEngine(batch_size=10)
    engine.backend.retry = RetryPolicy(max_retries=1, base_delay=0.0, jitter=False)
    m = np.unique(random_masks(80, 8, seed=8), axis=0)[:30]
    np.testing.assert_array_equal(engine.bind(remote, 8)(m), m.sum(1))
    assert sizes == [10, 10, 10, 10, 10]  # failed twice, then the same batch once more, then the rest
