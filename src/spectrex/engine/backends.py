"""Back-ends: where batches of masks are evaluated.

Every back-end has two methods. ``run(fn, batches)`` takes an iterable of ``(batch_id, masks)``
and yields ``(batch_id, output)`` as batches finish, where ``output`` is what the value function
returned or the exception it raised (never raised here: the query engine decides what a failure
means, names the rows and retries them). Batches may finish out of order.

- :class:`LocalBackend` (default): in this process, one batch at a time; halves the batch on a
  CUDA out-of-memory error and keeps the smaller size for the rest of the run.
- :class:`ThreadBackend`: a bounded thread pool, for value functions that wait on remote APIs.
- :class:`AsyncBackend`: ``async def`` value functions on an event loop, bounded by a semaphore.
- :class:`RayBackend`: Ray actors that each load the model once (``pip install spectrex[ray]``).

Every back-end retries a batch under its :class:`~spectrex.retry.RetryPolicy` when the value
function raises :class:`RetryableError`, a timeout, or an HTTP 429 / 5xx error (httpx or requests); a
batch that keeps failing comes back as its exception, so it is reported, never silently lost.

The other, :meth:`Backend.drain`, is the interrupt protocol: when the engine stops reading early
(Ctrl-C, an error) it closes ``run``'s generator and takes from ``drain()`` the outcomes that
finished meanwhile, so that no received answer is lost.
"""

from __future__ import annotations

import inspect
import os
import queue
import sys
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from .. import retry as _retry
from ..errors import PartialResultError, RetryableError, WorkerLostError
from ..retry import RetryPolicy, is_retryable
from ..validate import is_whole
from .actors import ActorPool, import_ray, ray_init_local, spectrex_path

__all__ = [
    "AsyncBackend",
    "Backend",
    "LocalBackend",
    "RayBackend",
    "RetryPolicy",
    "RetryableError",
    "ThreadBackend",
    "WorkerLostError",
    "is_retryable",
    "make_backend",
]

Batch = tuple[int, np.ndarray]
Outcome = tuple[int, object]


def is_oom(exc: BaseException) -> bool:
    """A CUDA out-of-memory error (torch raises ``torch.OutOfMemoryError``; older versions a RuntimeError)."""
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _free_gpu_memory() -> None:
    torch = sys.modules.get("torch")  # never import torch just for this
    if torch is not None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - freeing memory is best effort
            pass


class Backend(ABC):
    """Interface of a back-end (see the module docstring)."""

    name = "backend"
    #: how many batches may be in flight at once (the engine sizes its read-ahead from this)
    concurrency = 1

    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self.retry = RetryPolicy() if retry is None else retry
        self._retried = 0
        self._lock = threading.Lock()
        self._kept: list[Outcome] = []

    @abstractmethod
    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        """Evaluate ``fn`` on each ``(batch_id, masks)``; yield ``(batch_id, output or exception)`` as each finishes."""

    @abstractmethod
    def drain(self) -> list[Outcome]:
        """The outcomes the engine did not read because it stopped early: what it keeps after an interrupt.

        The engine stops reading :meth:`run` (KeyboardInterrupt, an error, a server that is down),
        closes its generator, then calls ``drain()`` once. A back-end returns (and forgets) the
        outcomes of the batches that finished while it stopped — work under way is let finish (or
        given a grace period), work not started is dropped — and the outcome the engine took last,
        which it may not have stored (:meth:`_hand_over`; the engine skips batches it stored). A
        value function interrupted mid-batch may leave a :class:`PartialResultError` of the rows it
        answered.
        """

    def _take_kept(self) -> list[Outcome]:
        out, self._kept = self._kept, []
        return out

    def _hand_over(self, items: Iterable[Outcome]) -> Iterator[Outcome]:
        """Yield each outcome; one the engine took but may not have stored (it stopped before asking for the
        next) is also kept for :meth:`drain`."""
        for item in items:
            try:
                yield item
            except GeneratorExit:
                self._kept.append(item)
                raise

    def _count_retry(self) -> None:
        with self._lock:
            self._retried += 1

    def _attempt(self, fn, masks: np.ndarray):
        """``fn(masks)`` retried under the policy: its output, or its final exception (never raised)."""
        try:
            return _retry.call(lambda _: fn(masks), self.retry, on_retry=self._count_retry)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the batch's outcome
            return exc

    @property
    def retries(self) -> int:
        """Transient failures retried so far."""
        return self._retried

    def close(self) -> None:  # noqa: B027 - optional: only back-ends with workers release them
        """Release workers (no-op for in-process back-ends)."""

    def describe(self) -> dict:
        return {"backend": self.name}


class LocalBackend(Backend):
    """Evaluate batches in this process, in order.

    On a CUDA out-of-memory error the batch is split in halves (down to single rows) and the
    smaller size is kept for later batches, so ``batch_size='auto'`` settles on the largest batch
    that fits.
    """

    name = "local"

    def __init__(self, retry: RetryPolicy | None = None) -> None:
        super().__init__(retry)
        self.chunk: int | None = None  # learned largest batch that fits; None = no limit found yet
        self.oom_events = 0

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        self._kept = []
        for bid, masks in batches:
            try:
                out = self._call(fn, masks)
            except KeyboardInterrupt as exc:
                # Ctrl-C inside the value function: the rows it had answered (a served model's finished
                # requests, attached as ``partial_values``) are kept for the engine's drain, not lost
                partial = getattr(exc, "partial_values", None)
                if partial is not None:
                    self._kept.append((bid, PartialResultError("interrupted", partial, {})))
                raise
            yield from self._hand_over([(bid, out)])

    def drain(self) -> list[Outcome]:
        """The batch the engine took last, and the answered rows of one interrupted mid-call."""
        return self._take_kept()

    def _call(self, fn, masks: np.ndarray):
        q = masks.shape[0]
        if self.chunk is None or self.chunk >= q:
            out = self._attempt(fn, masks)
            if not (isinstance(out, BaseException) and is_oom(out)):
                return out
            if q == 1:
                return out
            self._shrink(q)
        parts = []
        lo = 0
        while lo < q:
            size = self.chunk
            out = self._attempt(fn, masks[lo : lo + size])
            if isinstance(out, BaseException):
                if is_oom(out) and size > 1:
                    self._shrink(size)
                    continue
                return out
            parts.append(np.asarray(out, dtype=np.float64).reshape(-1))
            lo += size
        return np.concatenate(parts)

    def _shrink(self, tried: int) -> None:
        self.oom_events += 1
        self.chunk = max(1, tried // 2)
        _free_gpu_memory()

    def describe(self) -> dict:
        return {"backend": self.name, "oom_backoffs": self.oom_events, "batch_limit": self.chunk}


class ThreadBackend(Backend):
    """A bounded thread pool: for value functions that wait on the network (remote model APIs).

    Parameters
    ----------
    max_workers : int, default 8
        Batches in flight at once (the bound on concurrent requests).
    retry : RetryPolicy, optional
        Backoff for timeouts, HTTP 429 and 5xx (default: 5 retries from 0.5 s up to 30 s).
    """

    name = "threads"

    def __init__(self, max_workers: int = 8, retry: RetryPolicy | None = None) -> None:
        super().__init__(retry)
        if not is_whole(max_workers, 1):
            raise ValueError(f"max_workers must be a whole number, at least 1, got {max_workers!r}")
        self.concurrency = int(max_workers)

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        it = iter(batches)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="spectrex-query")
        pending: dict = {}
        self._kept = []
        try:
            # keep at most 2x workers batches submitted: bounded memory, workers never idle
            for bid, masks in it:
                pending[pool.submit(self._attempt, fn, masks)] = bid
                if len(pending) >= 2 * self.concurrency:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    bid = pending.pop(fut)
                    yield from self._hand_over([(bid, fut.result())])
                    nxt = next(it, None)
                    if nxt is not None:
                        pending[pool.submit(self._attempt, fn, nxt[1])] = nxt[0]
        finally:
            # the engine stopped early (error, interrupt): drop what has not started, wait for the rest
            # and keep what they answered (drain) so that an interrupt loses no received answer
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, bid in pending.items():
                if fut.done() and not fut.cancelled():
                    self._kept.append((bid, fut.result()))

    def drain(self) -> list[Outcome]:
        """The batch the engine took last, and those that were running when it stopped (waited for)."""
        return self._take_kept()

    def describe(self) -> dict:
        return {"backend": self.name, "max_workers": self.concurrency, "retries": self.retries}


def _is_async(fn) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


class AsyncBackend(Backend):
    """Run an ``async def`` value function on an event loop with at most ``concurrency`` calls in flight.

    The loop runs in a helper thread, so this works inside notebooks that already run a loop.
    Plain (sync) value functions are run in threads.
    """

    name = "async"

    def __init__(self, concurrency: int = 16, retry: RetryPolicy | None = None) -> None:
        super().__init__(retry)
        if not is_whole(concurrency, 1):
            raise ValueError(f"concurrency must be a whole number, at least 1, got {concurrency!r}")
        self.concurrency = int(concurrency)

    async def _one(self, fn, masks, sem, stop: threading.Event):
        import asyncio

        async def attempt(_):
            if _is_async(fn):
                return await fn(masks)
            return await asyncio.to_thread(fn, masks)

        async with sem:
            if stop.is_set():  # the engine stopped reading results: start nothing new
                return None
            try:
                return await _retry.acall(attempt, self.retry, on_retry=self._count_retry)
            except Exception as exc:  # noqa: BLE001 - every failure becomes the batch's outcome
                return exc

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        import asyncio  # on use: with ssl it costs ~0.07 s of CPU in a fresh process

        batches = list(batches)
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        self._kept = []

        async def main():
            sem = asyncio.Semaphore(self.concurrency)

            async def task(bid, masks):
                out = await self._one(fn, masks, sem, stop)
                if out is not None or not stop.is_set():
                    results.put((bid, out))

            await asyncio.gather(*(task(b, m) for b, m in batches))

        def loop():
            try:
                asyncio.run(main())
            except BaseException as exc:  # noqa: BLE001 - surfaced to the caller below
                results.put((None, exc))
            finally:
                results.put(None)

        thread = threading.Thread(target=loop, name="spectrex-async", daemon=True)
        thread.start()
        try:
            while True:
                item = results.get()
                if item is None:
                    break
                if item[0] is None:
                    raise item[1]
                yield from self._hand_over([item])
        finally:
            stop.set()
            thread.join()
            while True:  # answers that arrived after the engine stopped reading: kept for drain()
                try:
                    item = results.get_nowait()
                except queue.Empty:
                    break
                if item is not None and item[0] is not None:
                    self._kept.append(item)

    def drain(self) -> list[Outcome]:
        """The batch the engine took last, and the calls that were in flight when it stopped (waited for)."""
        return self._take_kept()

    def describe(self) -> dict:
        return {"backend": self.name, "concurrency": self.concurrency, "retries": self.retries}


# -- Ray ------------------------------------------------------------------------------------------

#: seconds the batches on Ray actors get to finish once the engine stops (Ctrl-C): kept for drain()
RAY_STOP_GRACE = 10.0


class _Worker:
    """Body of a Ray actor: builds (or receives) the value function once, then answers batches."""

    def __init__(self, fn_or_factory, is_factory: bool) -> None:
        self.fn = fn_or_factory() if is_factory else fn_or_factory

    def call(self, masks, policy: RetryPolicy):
        """``(output, retries)``: the batch's answers after retrying transient failures here, next to the model."""
        retried = []
        out = _retry.call(lambda _: self.fn(masks), policy, on_retry=lambda: retried.append(1))
        return out, len(retried)

    def pid(self) -> int:
        return os.getpid()


class RayBackend(Backend):
    """Send batches to Ray actors (an :class:`~spectrex.engine.actors.ActorPool`); each actor loads the model once.

    Parameters
    ----------
    num_workers : int, default 2
        Actors to start.
    factory : callable, optional
        ``factory() -> value_fn``, called once inside each actor (use this for models that are big
        or cannot be pickled: the actor loads its own copy). Without it, the bound value function is
        pickled and shipped once per actor.
    actor_options : dict, optional
        Passed to ``.options()`` of each actor, e.g. ``{"num_gpus": 1}`` or ``{"num_cpus": 1}``.
    in_flight : int, default 2
        Batches queued per actor (2 keeps an actor busy while a result travels back).
    max_restarts : int, default 3
        Replacement actors started per worker slot when an actor dies; the batches it held are re-run.
    init_kwargs : dict, optional
        Passed to ``ray.init`` if Ray is not initialised yet. Without an ``address`` a new local
        Ray instance is started on this machine — never a cluster found through ``RAY_ADDRESS`` or a
        stale address file, which would receive the model. To join a real cluster, say so:
        ``{"address": "auto"}`` (the one this machine belongs to) or ``{"address": "ray://HOST:10001"}``;
        or call ``ray.init(...)`` yourself first. A local instance listens on 127.0.0.1 only.
    """

    name = "ray"

    def __init__(
        self,
        num_workers: int = 2,
        factory: Callable | None = None,
        actor_options: dict | None = None,
        in_flight: int = 2,
        max_restarts: int = 3,
        init_kwargs: dict | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(retry)
        if not is_whole(num_workers, 1):
            raise ValueError(f"num_workers must be a whole number, at least 1, got {num_workers!r}")
        self.num_workers = int(num_workers)
        self.concurrency = self.num_workers * max(1, int(in_flight))
        self.factory = factory
        self.actor_options = dict(actor_options or {"num_cpus": 1})
        self.in_flight = max(1, int(in_flight))
        self.max_restarts = int(max_restarts)
        self.init_kwargs = init_kwargs
        self._pool: ActorPool | None = None
        self._fn_id: int | None = None
        self._restarts_before = 0  # of the pools closed before this one

    @property
    def restarts(self) -> int:
        """Actors replaced after dying, over this back-end's life (their budget spans it too)."""
        return self._pool.restarts if self._pool is not None else self._restarts_before

    def _ensure_actors(self, fn) -> ActorPool:
        ray = import_ray()
        if not ray.is_initialized():
            kwargs = dict(self.init_kwargs or {})
            kwargs.setdefault("address", "local")  # a fresh local instance unless told where the cluster is
            env = kwargs.setdefault("runtime_env", {}).setdefault("env_vars", {})
            env.setdefault("PYTHONPATH", spectrex_path())  # workers import this very spectrex
            ray_init_local(ray, **kwargs)
        target = self.factory if self.factory is not None else fn
        if self._pool is not None and self._fn_id == id(target):
            return self._pool
        self.close()
        try:
            payload = ray.put(target)  # shipped once; each actor fetches it once
        except Exception as exc:  # noqa: BLE001 - pickling failures come in many types
            raise TypeError(
                f"the value function could not be pickled to send to Ray workers ({type(exc).__name__}: {exc}); "
                "pass RayBackend(factory=...) with a function that builds the model inside each worker"
            ) from exc
        need = self.num_workers * float(self.actor_options.get("num_cpus", 1) or 0)
        have = float(ray.cluster_resources().get("CPU", 0))
        if need > have:
            # Ray would leave the extra actors pending and the run would wait for them forever
            warnings.warn(
                f"{self.num_workers} Ray actors asking {self.actor_options.get('num_cpus', 1)} CPU each need {need:g} "
                f"CPUs but the cluster has {have:g} (minus other running actors); some may never start. Use fewer "
                "workers or actor_options={'num_cpus': ...}",
                RuntimeWarning,
                stacklevel=4,
            )
        actor = ray.remote(_Worker).options(**self.actor_options)
        is_factory = self.factory is not None
        self._pool = ActorPool(
            ray, lambda: actor.remote(payload, is_factory), self.num_workers,
            in_flight=self.in_flight, max_restarts=self.max_restarts,
        )  # fmt: skip
        self._pool.restarts = self._restarts_before
        self._fn_id = id(target)
        return self._pool

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        pool = self._ensure_actors(fn)
        self._kept = []
        results = pool.run("call", ((bid, (masks, self.retry)) for bid, masks in batches), grace=RAY_STOP_GRACE)
        try:
            for bid, out in results:
                if isinstance(out, WorkerLostError):
                    lost = out
                    out = WorkerLostError(
                        f"Ray workers died {lost.restarts} times; giving up on this batch. "
                        "Check the workers' memory and logs (ray status), or use fewer workers",
                        restarts=lost.restarts,
                    )
                    out.__cause__ = lost.__cause__
                elif isinstance(out, tuple):
                    out, retried = out
                    with self._lock:
                        self._retried += retried
                yield from self._hand_over([(bid, out)])
        finally:
            results.close()  # the actors' batches under way finish (within the grace) or are cancelled
            self._kept.extend((bid, out[0]) for bid, out in pool.stopped if isinstance(out, tuple))

    def drain(self) -> list[Outcome]:
        """The batch the engine took last, and those the actors finished within the grace after it stopped."""
        return self._take_kept()

    def worker_pids(self) -> list[int]:
        """Process ids of the current actors (for tests and diagnostics)."""
        return self._pool.each("pid") if self._pool is not None else []

    def close(self) -> None:
        if self._pool is not None:
            self._restarts_before = self._pool.restarts
            self._pool.close()
        self._pool = None
        self._fn_id = None

    def describe(self) -> dict:
        return {"backend": self.name, "num_workers": self.num_workers, "restarts": self.restarts}


#: the most workers (threads, concurrent calls, Ray actors) a back-end starts: each thread reserves a stack
MAX_WORKERS = 1024


def make_backend(spec, workers: int | None = None) -> Backend:
    """A back-end from a name (``"local"``, ``"threads"``, ``"async"``, ``"ray"``) or an instance."""
    if workers is not None and not is_whole(workers, 1):
        raise ValueError(
            f"workers must be a positive integer (threads / concurrent calls / Ray actors), got {workers!r}"
        )
    if workers is not None and workers > MAX_WORKERS:
        raise ValueError(
            f"workers = {workers:,} is more than this machine can run at once; use at most {MAX_WORKERS:,} "
            "(a few times the server's own parallelism is enough)"
        )
    if isinstance(spec, Backend):
        return spec
    if spec is None or spec == "local":
        return LocalBackend()
    if spec in ("threads", "thread"):
        return ThreadBackend(max_workers=workers or 8)
    if spec == "async":
        return AsyncBackend(concurrency=workers or 16)
    if spec == "ray":
        return RayBackend(num_workers=workers or 2)
    raise ValueError(f"unknown backend {spec!r}; choose 'local', 'threads', 'async', 'ray' or pass a Backend instance")
