"""Ray actors for spectrex: starting Ray safely, and one pool of actors that survives workers dying.

:class:`ActorPool` starts ``size`` actors (each loads its model once), sends work to them as they
free up, yields each result as it finishes, and replaces an actor that dies (killed, out of memory,
node lost), sending the work it held again — up to ``max_restarts`` replacements per actor over the
pool's life; after that the work comes back as :class:`~spectrex.errors.WorkerLostError`. Both the
query engine's :class:`~spectrex.engine.backends.RayBackend` (batches of masks) and the dataset
runner (whole records) use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from ..errors import WorkerLostError

Work = tuple[object, tuple]


def import_ray():
    """Ray, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            "the Ray back-end needs Ray; install it with `pip install spectrex[ray]` (or `pip install ray`)"
        ) from exc
    return ray


def ray_init_local(ray, **kwargs) -> None:
    """``ray.init`` that, for a fresh local instance (no cluster address), listens on 127.0.0.1 only.

    Ray resolves ``127.0.0.1`` to this machine's network address on Linux (for clusters), and then
    its servers accept connections from the whole network — where the model and its inputs travel.
    A local instance needs no network: its node address is pinned to loopback. A cluster address
    (``"auto"``, ``"ray://…"``, ``"HOST:PORT"``) is joined as it is.
    """
    if kwargs.get("address") not in (None, "local"):
        ray.init(**kwargs)
        return
    kwargs.setdefault("_node_ip_address", "127.0.0.1")
    try:
        from ray._private import ray_constants
    except ImportError:  # pragma: no cover - another Ray layout: its own default
        ray.init(**kwargs)
        return
    before = getattr(ray_constants, "ENABLE_RAY_CLUSTER", True)
    ray_constants.ENABLE_RAY_CLUSTER = False  # "127.0.0.1" stays loopback (Ray's own single-machine mode)
    try:
        ray.init(**kwargs)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def spectrex_path() -> str:
    """``PYTHONPATH`` for Ray workers: this very spectrex first (a source checkout may not be installed)."""
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))


def _release(ray, refs=(), actors=()) -> None:
    """Cancel outstanding tasks and kill actors, best effort (either may already be gone)."""
    for r in list(refs):
        try:
            ray.cancel(r)
        except Exception:  # noqa: BLE001 - best effort
            pass
    for a in list(actors):
        try:
            ray.kill(a)
        except Exception:  # noqa: BLE001 - already gone
            pass


class ActorPool:
    """``size`` Ray actors made by ``make_actor()``; see the module docstring.

    Parameters
    ----------
    ray : module
        Ray, initialised.
    make_actor : callable
        ``make_actor() -> actor handle``: starts one actor (called again to replace a dead one).
    size : int
        Actors to start.
    in_flight : int, default 1
        Calls queued per actor (2 keeps an actor busy while a result travels back).
    max_restarts : int, default 3
        Replacement actors per actor slot, over the pool's life.
    """

    def __init__(self, ray, make_actor: Callable, size: int, *, in_flight: int = 1, max_restarts: int = 3) -> None:
        self.ray, self._make = ray, make_actor
        self.size, self.in_flight = int(size), max(1, int(in_flight))
        self.budget = int(max_restarts) * self.size
        #: actors replaced so far
        self.restarts = 0
        #: (key, result) of calls that finished while :meth:`run` was stopping (it was closed early)
        self.stopped: list = []
        self.actors = [make_actor() for _ in range(self.size)]

    def each(self, method: str) -> list:
        """``method()`` called on every actor, its results in order (e.g. to wait until each is up)."""
        return self.ray.get([getattr(a, method).remote() for a in self.actors])

    def run(self, method: str, work: Iterable[Work], grace: float = 0.0) -> Iterator[tuple[object, object]]:
        """Call ``actor.method(*args)`` for each ``(key, args)`` of ``work``; yield ``(key, result)`` as each finishes.

        ``result`` is what the method returned, the exception it raised, or a :class:`WorkerLostError`
        once actors died more than the restart budget allows. ``work`` is read lazily, as actors free
        up. Closed early (an interrupt, the caller stopping), the calls under way get ``grace``
        seconds to finish; those that do are kept in :attr:`stopped`, the rest are cancelled.
        """
        from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

        ray, it = self.ray, iter(work)
        pending: dict = {}  # ObjectRef -> (slot, key, args)
        again: list[Work] = []  # work of a dead actor, sent again before anything new
        load = [0] * self.size
        self.stopped = []

        def fill() -> None:
            for slot in range(self.size):
                while load[slot] < self.in_flight:
                    item = again.pop() if again else next(it, None)
                    if item is None:
                        return
                    pending[getattr(self.actors[slot], method).remote(*item[1])] = (slot, *item)
                    load[slot] += 1

        try:
            fill()
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                slot, key, args = pending.pop(ref)
                load[slot] -= 1
                try:
                    out = ray.get(ref)
                except (RayActorError, WorkerCrashedError) as exc:
                    if self.restarts < self.budget:
                        again.extend(reversed(self._replace(slot, (key, args), pending, load)))
                        fill()
                        continue
                    out = WorkerLostError(f"Ray workers died {self.restarts} times", restarts=self.restarts)
                    out.__cause__ = exc
                except RayTaskError as exc:
                    out = exc.cause if getattr(exc, "cause", None) is not None else exc
                except Exception as exc:  # noqa: BLE001 - reported as this work's failure
                    out = exc
                yield key, out
                fill()
        finally:
            self._stop(pending, grace)

    def _replace(self, slot: int, lost: Work, pending: dict, load: list) -> list[Work]:
        """Start a new actor in ``slot``; the work the dead one held, to send again."""
        held = [lost]
        for ref, (s, key, args) in list(pending.items()):
            if s == slot:
                del pending[ref]
                held.append((key, args))
        load[slot] = 0
        _release(self.ray, actors=[self.actors[slot]])
        self.actors[slot] = self._make()
        self.restarts += 1
        return held

    def _stop(self, pending: dict, grace: float) -> None:
        """Keep what finishes within ``grace`` seconds of stopping; cancel the rest."""
        if not pending:
            return
        try:
            done, _ = self.ray.wait(list(pending), num_returns=len(pending), timeout=max(0.0, grace))
            for ref in done:
                try:
                    self.stopped.append((pending.pop(ref)[1], self.ray.get(ref)))
                except Exception:  # noqa: BLE001 - a failed call has nothing worth keeping
                    continue
        finally:
            _release(self.ray, refs=pending)

    def close(self) -> None:
        """Kill the actors."""
        _release(self.ray, actors=self.actors)
        self.actors = []
