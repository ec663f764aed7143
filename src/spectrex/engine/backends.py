"""Back-ends: where batches of masks are evaluated.

Every back-end has one method, ``run(fn, batches)``: it takes an iterable of ``(batch_id, masks)``
and yields ``(batch_id, output)`` as batches finish, where ``output`` is what the value function
returned or the exception it raised (never raised here: the query engine decides what a failure
means, names the rows and retries them). Batches may finish out of order.

- :class:`LocalBackend` (default): in this process, one batch at a time; halves the batch on a
  CUDA out-of-memory error and keeps the smaller size for the rest of the run.
- :class:`ThreadBackend`: a bounded thread pool, for value functions that wait on remote APIs.
- :class:`AsyncBackend`: ``async def`` value functions on an event loop, bounded by a semaphore.
- :class:`RayBackend`: Ray actors that each load the model once (``pip install spectrex[ray]``).

The remote back-ends retry a batch with exponential backoff when the value function raises
:class:`RetryableError`, a timeout, or an HTTP 429 / 5xx error (httpx or requests); a batch that
keeps failing comes back as its exception, so it is reported, never silently lost.
"""

from __future__ import annotations

import inspect
import os
import queue
import random
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from ..errors import PartialResultError, SpectrexError

Batch = tuple[int, np.ndarray]
Outcome = tuple[int, object]


class RetryableError(SpectrexError):
    """Raise from a value function for a failure worth retrying (rate limit, overloaded server, timeout).

    Parameters
    ----------
    message : str
        What happened.
    retry_after : float, optional
        Seconds the server asked us to wait (e.g. from a ``Retry-After`` header).
    exhausted : bool, default False
        The value function already retried this itself (e.g. per HTTP request, up to its deadline):
        back-ends do not retry it again; the engine retries the batch whole once, then reports it.
    """

    def __init__(self, message: str, retry_after: float | None = None, exhausted: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.exhausted = bool(exhausted)


class WorkerLostError(SpectrexError):
    """Ray workers kept dying; the batches they held were not answered."""


def _status_code(exc: BaseException) -> int | None:
    resp = getattr(exc, "response", None)
    code = getattr(resp, "status_code", None)
    return int(code) if isinstance(code, int) else None


def is_retryable(exc: BaseException) -> bool:
    """Whether a failure is transient: :class:`RetryableError`, a timeout, a connection error, HTTP 429 or 5xx.

    A :class:`RetryableError` marked ``exhausted`` (retried by the value function itself) is not.
    """
    if getattr(exc, "exhausted", False):
        return False
    if isinstance(exc, (RetryableError, TimeoutError, ConnectionError)):
        return True
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, (httpx.TimeoutException, httpx.TransportError)):
        return True
    code = _status_code(exc)
    return code is not None and (code == 429 or 500 <= code < 600)


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, RetryableError) and exc.retry_after is not None:
        return float(exc.retry_after)
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is not None:
        try:
            return float(headers.get("retry-after"))
        except (TypeError, ValueError):
            return None
    return None


@dataclass
class RetryPolicy:
    """Exponential backoff for transient failures.

    Attempt ``k`` (0-based) waits ``min(max_delay, base_delay * 2**k)``, times a random factor in
    [0.5, 1] when ``jitter`` is on, or the server's ``Retry-After`` if that is longer (capped at
    ``max_delay``). After ``max_retries`` retries the last exception is returned as the batch's result.
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True

    def delay(self, attempt: int, exc: BaseException | None = None) -> float:
        d = min(self.max_delay, self.base_delay * 2**attempt)
        if self.jitter:
            d *= 0.5 + 0.5 * random.random()
        asked = _retry_after(exc) if exc is not None else None
        if asked is not None:
            d = max(d, min(asked, self.max_delay))
        return d


def call_with_retry(fn, masks: np.ndarray, policy: RetryPolicy | None, counter: list | None = None, sleep=time.sleep):
    """Call ``fn(masks)``, retrying transient failures; returns the output or the final exception."""
    attempt = 0
    while True:
        try:
            return fn(masks)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the batch's outcome
            if policy is None or attempt >= policy.max_retries or not is_retryable(exc):
                return exc
            if counter is not None:
                counter.append(1)
            sleep(policy.delay(attempt, exc))
            attempt += 1


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


class Backend:
    """Interface of a back-end (see the module docstring)."""

    name = "backend"
    #: how many batches may be in flight at once (the engine sizes its read-ahead from this)
    concurrency = 1

    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self.retry = RetryPolicy() if retry is None else retry
        self._retries: list = []
        self._leftover: list[Outcome] = []

    def drain(self) -> list[Outcome]:
        """Outcomes that finished after the engine stopped reading (an interrupt): kept, not lost."""
        out, self._leftover = self._leftover, []
        return out

    def _hand_over(self, items: Iterable[Outcome]) -> Iterator[Outcome]:
        """Yield each outcome; one the engine took but may not have stored (it stopped before asking for the
        next) is also kept for :meth:`drain` — the engine skips the batches it did store."""
        for item in items:
            try:
                yield item
            except GeneratorExit:
                self._leftover.append(item)
                raise

    @property
    def retries(self) -> int:
        """Transient failures retried so far."""
        return len(self._retries)

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
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
        self._leftover = []
        for bid, masks in batches:
            try:
                out = self._call(fn, masks)
            except KeyboardInterrupt as exc:
                # Ctrl-C inside the value function: the rows it had answered (a served model's finished
                # requests, attached as ``partial_values``) are kept for the engine's drain, not lost
                partial = getattr(exc, "partial_values", None)
                if partial is not None:
                    self._leftover.append((bid, PartialResultError("interrupted", partial, {})))
                raise
            yield from self._hand_over([(bid, out)])

    def _call(self, fn, masks: np.ndarray):
        q = masks.shape[0]
        if self.chunk is None or self.chunk >= q:
            out = call_with_retry(fn, masks, self.retry, self._retries)
            if not (isinstance(out, BaseException) and is_oom(out)):
                return out
            if q == 1:
                return out
            self._shrink(q)
        parts = []
        lo = 0
        while lo < q:
            size = self.chunk
            out = call_with_retry(fn, masks[lo : lo + size], self.retry, self._retries)
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
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.concurrency = int(max_workers)

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        it = iter(batches)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="spectrex-query")
        pending: dict = {}
        self._leftover = []
        try:
            # keep at most 2x workers batches submitted: bounded memory, workers never idle
            for bid, masks in it:
                pending[pool.submit(call_with_retry, fn, masks, self.retry, self._retries)] = bid
                if len(pending) >= 2 * self.concurrency:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    bid = pending.pop(fut)
                    yield from self._hand_over([(bid, fut.result())])
                    nxt = next(it, None)
                    if nxt is not None:
                        pending[pool.submit(call_with_retry, fn, nxt[1], self.retry, self._retries)] = nxt[0]
        finally:
            # the engine stopped early (error, interrupt): drop what has not started, wait for the rest
            # and keep what they answered (drain) so that an interrupt loses no received answer
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, bid in pending.items():
                if fut.done() and not fut.cancelled():
                    self._leftover.append((bid, fut.result()))

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
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = int(concurrency)

    async def _one(self, fn, masks, sem, stop: threading.Event):
        import asyncio

        attempt = 0
        async with sem:
            if stop.is_set():  # the engine stopped reading results: start nothing new
                return None
            while True:
                try:
                    if _is_async(fn):
                        return await fn(masks)
                    return await asyncio.to_thread(fn, masks)
                except Exception as exc:  # noqa: BLE001 - every failure becomes the batch's outcome
                    if attempt >= self.retry.max_retries or not is_retryable(exc):
                        return exc
                    self._retries.append(1)
                    await asyncio.sleep(self.retry.delay(attempt, exc))
                    attempt += 1

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        import asyncio  # on use: with ssl it costs ~0.07 s of CPU in a fresh process

        batches = list(batches)
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        self._leftover = []

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
                    self._leftover.append(item)

    def describe(self) -> dict:
        return {"backend": self.name, "concurrency": self.concurrency, "retries": self.retries}


# -- Ray ------------------------------------------------------------------------------------------


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


def ray_release(ray, refs=(), actors=()) -> None:
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


class _Worker:
    """Body of a Ray actor: builds (or receives) the value function once, then answers batches."""

    def __init__(self, fn_or_factory, is_factory: bool) -> None:
        self.fn = fn_or_factory() if is_factory else fn_or_factory

    def call(self, masks):
        return self.fn(masks)

    def pid(self) -> int:
        return os.getpid()


class RayBackend(Backend):
    """Send batches to Ray actors; each actor loads the model once.

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
        if num_workers < 1:
            raise ValueError(f"num_workers must be at least 1, got {num_workers}")
        self.num_workers = int(num_workers)
        self.concurrency = self.num_workers * max(1, int(in_flight))
        self.factory = factory
        self.actor_options = dict(actor_options or {"num_cpus": 1})
        self.in_flight = max(1, int(in_flight))
        self.max_restarts = int(max_restarts)
        self.init_kwargs = init_kwargs
        self.restarts = 0
        self._actors: list = []
        self._fn_id: int | None = None
        self._payload = None

    def _ensure_actors(self, fn) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            kwargs = dict(self.init_kwargs or {})
            kwargs.setdefault("address", "local")  # a fresh local instance unless told where the cluster is
            # workers must import this very spectrex (a source checkout may not be installed)
            src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            env = kwargs.setdefault("runtime_env", {}).setdefault("env_vars", {})
            env.setdefault("PYTHONPATH", os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
            ray_init_local(ray, **kwargs)
        target = self.factory if self.factory is not None else fn
        if self._actors and self._fn_id == id(target):
            return
        self.close()
        self._fn_id = id(target)
        try:
            self._payload = ray.put(target)  # shipped once; each actor fetches it once
        except Exception as exc:  # noqa: BLE001 - pickling failures come in many types
            raise TypeError(
                f"the value function could not be pickled to send to Ray workers ({type(exc).__name__}: {exc}); "
                "pass RayBackend(factory=...) with a function that builds the model inside each worker"
            ) from exc
        self._actor_cls = ray.remote(_Worker)
        need = self.num_workers * float(self.actor_options.get("num_cpus", 1) or 0)
        have = float(ray.cluster_resources().get("CPU", 0))
        if need > have:
            # Ray would leave the extra actors pending and the run would wait for them forever
            warnings.warn(
                f"{self.num_workers} Ray actors asking {self.actor_options.get('num_cpus', 1)} CPU each need {need:g} "
                f"CPUs but the cluster has {have:g} (minus other running actors); some may never start. Use fewer "
                "workers or actor_options={'num_cpus': ...}",
                RuntimeWarning,
                stacklevel=3,
            )
        self._actors = [self._new_actor() for _ in range(self.num_workers)]

    def _new_actor(self):
        return self._actor_cls.options(**self.actor_options).remote(self._payload, self.factory is not None)

    def run(self, fn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        ray = import_ray()
        from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

        lost_types = (RayActorError, WorkerCrashedError)
        self._ensure_actors(fn)
        todo = list(batches)
        todo.reverse()  # pop() from the end = submission order
        masks_of = {bid: m for bid, m in todo}
        attempts: dict[int, int] = {}
        refs: dict = {}  # ObjectRef -> (slot, batch id)
        load = [0] * self.num_workers
        budget = self.max_restarts * self.num_workers

        def submit(slot: int, bid: int) -> None:
            ref = self._actors[slot].call.remote(masks_of[bid])
            refs[ref] = (slot, bid)
            load[slot] += 1

        def fill() -> None:
            for slot in range(self.num_workers):
                while todo and load[slot] < self.in_flight:
                    submit(slot, todo.pop()[0])

        try:
            fill()
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                ref = ready[0]
                slot, bid = refs.pop(ref)
                load[slot] -= 1
                try:
                    out = ray.get(ref)
                except lost_types:
                    # the actor died (killed, OOM, node lost): replace it once, re-run its batches
                    if self.restarts >= budget:
                        yield (
                            bid,
                            WorkerLostError(
                                f"Ray workers died {self.restarts} times; giving up on this batch. "
                                "Check the workers' memory and logs (ray status), or use fewer workers"
                            ),
                        )
                        continue
                    lost = [bid] + [b for r, (s, b) in list(refs.items()) if s == slot]
                    for r in [r for r, (s, _) in refs.items() if s == slot]:
                        refs.pop(r)
                    load[slot] = 0
                    try:
                        ray.kill(self._actors[slot])
                    except Exception:  # noqa: BLE001 - it is already gone
                        pass
                    self._actors[slot] = self._new_actor()
                    self.restarts += 1
                    for b in lost:
                        attempts[b] = attempts.get(b, 0) + 1
                        todo.append((b, masks_of[b]))
                    fill()
                    continue
                except RayTaskError as exc:
                    out = exc.cause if getattr(exc, "cause", None) is not None else exc
                except Exception as exc:  # noqa: BLE001 - reported as the batch's failure
                    out = exc
                if (
                    isinstance(out, BaseException)
                    and is_retryable(out)
                    and attempts.get(bid, 0) < self.retry.max_retries
                ):
                    self._retries.append(1)
                    time.sleep(self.retry.delay(attempts.get(bid, 0), out))
                    attempts[bid] = attempts.get(bid, 0) + 1
                    submit(slot, bid)
                    continue
                masks_of.pop(bid, None)
                yield bid, out
                fill()
        finally:
            ray_release(ray, refs)

    def worker_pids(self) -> list[int]:
        """Process ids of the current actors (for tests and diagnostics)."""
        ray = import_ray()
        return ray.get([a.pid.remote() for a in self._actors])

    def close(self) -> None:
        if self._actors:
            ray = sys.modules.get("ray")
            if ray is not None:
                ray_release(ray, actors=self._actors)
        self._actors = []
        self._fn_id = None
        self._payload = None

    def describe(self) -> dict:
        return {"backend": self.name, "num_workers": self.num_workers, "restarts": self.restarts}


#: the most workers (threads, concurrent calls, Ray actors) a back-end starts: each thread reserves a stack
MAX_WORKERS = 1024


def make_backend(spec, workers: int | None = None) -> Backend:
    """A back-end from a name (``"local"``, ``"threads"``, ``"async"``, ``"ray"``) or an instance."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
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
