"""Engine settings that are refused, and the Ray back-end's choice of cluster."""

import sys
import types

import numpy as np
import pytest

from spectrex.engine import QueryEngine, RayBackend


class _Stop(Exception):
    pass


def _fake_ray(calls):
    ray = types.ModuleType("ray")
    ray.is_initialized = lambda: False

    def init(**kwargs):
        calls.append(kwargs)
        raise _Stop

    ray.init = init
    return ray


@pytest.mark.parametrize(
    ("init_kwargs", "address"),
    [(None, "local"), ({"address": "auto"}, "auto"), ({"address": "ray://h:10001"}, "ray://h:10001")],
)
def test_ray_starts_a_local_instance_unless_given_an_address(monkeypatch, init_kwargs, address):
    calls = []
    monkeypatch.setitem(sys.modules, "ray", _fake_ray(calls))
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.99:6379")  # a stale address must not be joined
    with pytest.raises(_Stop):
        RayBackend(init_kwargs=init_kwargs)._ensure_actors(lambda m: m.sum(1))
    assert calls[0]["address"] == address


@pytest.mark.parametrize("workers", [0, -1, 2.5, True])
@pytest.mark.parametrize("backend", ["local", "threads", "async", "ray"])
def test_workers_below_one_are_refused(backend, workers):
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        QueryEngine(backend=backend, workers=workers)


def test_cache_key_type_is_checked_at_construction():
    with pytest.raises(TypeError, match="cache_key"):
        QueryEngine(cache_key=("only-one",))
    QueryEngine(cache_key=("fn", "input")).bind(lambda m: m.sum(1), 3)(np.ones((1, 3), bool))
