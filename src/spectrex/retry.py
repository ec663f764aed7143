"""One retry policy for every transient failure: the query engine's back-ends and the HTTP client use it.

:class:`RetryPolicy` says how often and how long to retry: attempt ``k`` (0-based) that failed waits
``min(max_delay, base_delay * 2**k)``, times a random factor in [0.5, 1] when ``jitter`` is on, or the
server's ``Retry-After`` when that is longer; after ``max_retries`` retries, or when the next wait
would pass the ``deadline`` (seconds since the first attempt), the last failure is final. Without a
deadline a ``Retry-After`` is capped at ``max_delay`` (nothing else bounds it); with one it is
honoured whole, and one that asks past the deadline ends the call at once. What is worth retrying is
:meth:`RetryPolicy.retryable` (by default :func:`is_retryable`).

:func:`call` and :func:`acall` are the retry loop, for plain and ``async`` functions. The loop is
written once (:func:`_retrying`, a coroutine): :func:`call` runs it without an event loop, since in
the plain case nothing in it ever suspends.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import RetryableError

__all__ = ["Attempts", "RetryPolicy", "acall", "call", "is_retryable", "retry_after"]


def _status_code(exc: BaseException) -> int | None:
    code = getattr(getattr(exc, "response", None), "status_code", None)
    return int(code) if isinstance(code, int) else None


def is_retryable(exc: BaseException) -> bool:
    """Whether a failure is transient: :class:`RetryableError`, a timeout, a connection error, HTTP 429 or 5xx.

    A :class:`RetryableError` marked ``exhausted`` (retried by the value function itself) is not.
    """
    if getattr(exc, "exhausted", False):
        return False
    if isinstance(exc, (RetryableError, TimeoutError, ConnectionError)):
        return True
    httpx = sys.modules.get("httpx")  # never import httpx just for this
    if httpx is not None and isinstance(exc, (httpx.TimeoutException, httpx.TransportError)):
        return True
    code = _status_code(exc)
    return code is not None and (code == 429 or 500 <= code < 600)


def retry_after(source) -> float | None:
    """The seconds a server asked to wait, or None.

    ``source`` is a ``Retry-After`` header value, a number, or a failure: a :class:`RetryableError`'s
    ``retry_after``, else the header of the HTTP response it carries (httpx, requests). An HTTP date,
    a negative or an infinite value count as not asked (our own backoff applies).
    """
    if isinstance(source, BaseException):
        asked = getattr(source, "retry_after", None) if isinstance(source, RetryableError) else None
        if asked is None:
            headers = getattr(getattr(source, "response", None), "headers", None)
            asked = headers.get("retry-after") if headers is not None else None
        source = asked
    if source is None or isinstance(source, bool) or source == "":
        return None
    try:
        v = float(source)
    except (TypeError, ValueError):
        return None
    return v if 0 <= v < float("inf") else None


@dataclass
class RetryPolicy:
    """How a failing call is retried (module docstring): attempts, backoff with jitter, ``Retry-After``, deadline.

    Parameters
    ----------
    max_retries : int, default 5
        Retries after the first attempt.
    base_delay, max_delay : float, default 0.5 and 30
        The first wait and the cap of the exponential backoff, in seconds.
    jitter : bool, default True
        Multiply each wait by a random factor in [0.5, 1] (clients that failed together do not retry together).
    deadline : float, optional
        Seconds from the first attempt by which the call, waits included, is over (None: no deadline).
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    deadline: float | None = None

    def __post_init__(self) -> None:
        v = self.deadline
        if v is not None and not (isinstance(v, (int, float)) and v > 0 and v == v and v != float("inf")):
            raise ValueError(f"deadline must be a positive number of seconds, got {v!r}")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {self.max_retries!r}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("base_delay and max_delay must be at least 0 seconds")

    def retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt."""
        return is_retryable(exc)

    def delay(self, attempt: int, asked=None) -> float:
        """Seconds before retry ``attempt`` (0-based): the backoff, or the server's wait when longer.

        ``asked`` is the failure (its ``Retry-After`` is read with :func:`retry_after`) or the seconds asked.
        """
        d = min(self.max_delay, self.base_delay * 2**attempt)
        if self.jitter:
            d *= 0.5 + 0.5 * random.random()
        wait = retry_after(asked)
        if wait is not None:
            d = max(d, wait if self.deadline is not None else min(wait, self.max_delay))
        return d

    def start(self, clock: Callable[[], float] = time.monotonic) -> Attempts:
        """The state of one call under this policy, its clock started now."""
        return Attempts(self, clock)


class Attempts:
    """One call's retries under a policy: how many, since when, how long to wait after a failure."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.clock = policy, clock
        self.started = clock()
        #: retries made so far (the attempt under way is ``retries + 1``)
        self.retries = 0
        #: the ``Retry-After`` of the last failure, if its server asked for one
        self.asked: float | None = None

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def left(self) -> float | None:
        """Seconds until the deadline (None without one)."""
        return None if self.policy.deadline is None else self.policy.deadline - self.elapsed

    def wait_after(self, exc: BaseException) -> float | None:
        """Seconds to wait before retrying after ``exc``; None when it is final (not retryable, no retry
        left, or the wait would pass the deadline)."""
        p = self.policy
        self.asked = retry_after(exc)
        if not p.retryable(exc) or self.retries >= p.max_retries:
            return None
        wait = p.delay(self.retries, exc)
        if p.deadline is not None and self.elapsed + wait >= p.deadline:
            return None
        self.retries += 1
        return wait


async def _retrying(attempt, policy: RetryPolicy, sleep, on_retry):
    """The retry loop: ``await attempt(tries)`` until it succeeds or its failure is final (then raised)."""
    tries = policy.start()
    while True:
        try:
            return await attempt(tries)
        except Exception as exc:
            wait = tries.wait_after(exc)
            if wait is None:
                raise
            if on_retry is not None:
                on_retry()
            await sleep(wait)


def call(
    fn: Callable[[Attempts], Any],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
):
    """``fn(tries)`` retried under ``policy``; returns its result or raises its final failure.

    ``tries`` (:class:`Attempts`) tells ``fn`` how many retries came before and how long is left;
    ``on_retry()`` is called before each retry's wait.
    """

    async def attempt(tries):
        return fn(tries)

    async def pause(seconds):
        sleep(seconds)

    loop = _retrying(attempt, policy, pause, on_retry)
    try:
        loop.send(None)  # nothing awaited here suspends: the loop runs to its end in this one step
    except StopIteration as done:
        return done.value
    loop.close()
    raise RuntimeError("the retry loop suspended outside an event loop")  # pragma: no cover - cannot happen


async def acall(
    fn: Callable[[Attempts], Awaitable], policy: RetryPolicy, *, on_retry: Callable[[], None] | None = None
):
    """:func:`call` for an ``async`` ``fn``, waiting with ``asyncio.sleep``."""
    import asyncio

    async def attempt(tries):
        return await fn(tries)

    return await _retrying(attempt, policy, asyncio.sleep, on_retry)
