"""The Ray back-end on a local cluster started by the test: results, one model load per actor, a killed worker."""

import os
import signal
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

import spectrex  # noqa: E402
from spectrex.engine import QueryEngine, RayBackend  # noqa: E402

HERE = Path(__file__).resolve().parent
SRC = str(Path(spectrex.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def cluster():
    started = not ray.is_initialized()
    if started:
        # workers import spectrex and this module from the source tree, installed or not
        path = os.pathsep.join([SRC, str(HERE), os.environ.get("PYTHONPATH", "")])
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            runtime_env={"env_vars": {"PYTHONPATH": path, "RAY_DEDUP_LOGS": "0"}},
        )
    yield
    if started:
        ray.shutdown()


class LoadsOnce:
    """A 'model' that records each load (one file per load) and each batch's worker pid."""

    def __init__(self, folder: str):
        self.folder = folder
        Path(folder, f"load-{os.getpid()}-{id(self)}").touch()

    def __call__(self, masks):
        return masks.sum(1) * 1.5


class Factory:
    def __init__(self, folder: str):
        self.folder = folder

    def __call__(self):
        return LoadsOnce(self.folder)


class DiesOnce:
    """Kills its own worker process (SIGKILL) on the first batch it sees after a marker is armed."""

    fingerprint = "dies-once"

    def __init__(self, marker: str):
        self.marker = marker

    def __call__(self, masks):
        if os.path.exists(self.marker):
            os.remove(self.marker)  # only the first worker to get here dies
            os.kill(os.getpid(), signal.SIGKILL)
        return masks.sum(1) * 1.5


def masks(q=400, n=12, seed=0):
    return np.unique(np.random.default_rng(seed).random((q, n)) < 0.5, axis=0)


def test_ray_results_and_one_load_per_actor(cluster, tmp_path):
    m = masks()
    backend = RayBackend(num_workers=2, factory=Factory(str(tmp_path)))
    with QueryEngine(batch_size=16, backend=backend) as engine:
        q = engine.bind(lambda x: None, m.shape[1])  # the actors build their own model from the factory
        np.testing.assert_array_equal(q(m), m.sum(1) * 1.5)
        np.testing.assert_array_equal(q(masks(seed=1)), masks(seed=1).sum(1) * 1.5)  # same actors again
        assert len(set(backend.worker_pids())) == 2
    loads = list(tmp_path.glob("load-*"))
    assert len(loads) == 2  # two actors, one model load each, for ~30 batches over two calls


def test_ray_worker_killed_mid_run_is_replaced_and_its_batches_rerun(cluster, tmp_path):
    m = masks(seed=2)
    marker = tmp_path / "armed"
    fn = DiesOnce(str(marker))
    backend = RayBackend(num_workers=2, in_flight=2)
    with QueryEngine(batch_size=8, backend=backend, cache=tmp_path / "c.db") as engine:
        q = engine.bind(fn, m.shape[1])
        np.testing.assert_array_equal(q(m[:16]), m[:16].sum(1) * 1.5)  # actors up and answering
        pids = set(backend.worker_pids())
        marker.touch()
        np.testing.assert_array_equal(q(m), m.sum(1) * 1.5)
        assert not marker.exists() and backend.restarts == 1
        assert len(pids & set(backend.worker_pids())) == 1  # one actor replaced, one kept
        assert q.stats.sent == len(m) and engine.open_cache().count() == len(m)  # every batch answered once


def test_ray_value_function_errors_are_named(cluster):
    def broken(x):
        if x[:, 0].any():
            raise ArithmeticError("part 0 breaks it")
        return x.sum(1).astype(float)

    m = masks(q=40, n=5, seed=3)
    with QueryEngine(batch_size=4, backend=RayBackend(num_workers=1), on_error="drop") as engine:
        v = engine.bind(broken, 5)(m)
    assert np.isnan(v[m[:, 0]]).all() and np.array_equal(v[~m[:, 0]], m[~m[:, 0]].sum(1))


class Slow:
    """Each batch takes a while (the actors are busy when the engine stops)."""

    fingerprint = "slow"

    def __call__(self, masks):
        import time

        time.sleep(0.3)
        return masks.sum(1) * 1.5


def test_ctrl_c_during_a_ray_query_keeps_the_batches_that_finished(cluster, tmp_path):
    m = masks(q=64, seed=4)[:64]
    told = []

    def interrupt(done, total):  # Ctrl-C right after the first batch is stored, once
        if not told:
            told.append(done)
            raise KeyboardInterrupt

    backend = RayBackend(num_workers=2, in_flight=1)
    with QueryEngine(batch_size=8, backend=backend, cache=tmp_path / "c.db", progress=interrupt) as engine:
        q = engine.bind(Slow(), m.shape[1])
        with pytest.raises(KeyboardInterrupt):
            q(m)
        # the other actor's batch, under way when the engine stopped, is kept (drain), not cancelled
        assert told == [8] and q.stats.sent == 16 and engine.open_cache().count() == 16
        known = q.known(m)
        kept = ~np.isnan(known)
        assert kept.sum() == 16 and np.array_equal(known[kept], m[kept].sum(1) * 1.5)
