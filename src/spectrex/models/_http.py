"""A JSON-over-HTTP client whose unit of retry is one request.

Every request is retried by itself: connection errors, timeouts, HTTP 429 / 5xx, and a 200 whose
body is truncated or not JSON are transient; each retry waits an exponentially growing delay with
jitter (or the server's ``Retry-After`` when that is longer), and the whole request — every
attempt and wait — ends by a total deadline. The default read timeout is adaptive ("auto", see
:class:`RequestPolicy`): it follows how long this server has taken to answer. Anything else
(401, 404, a 400 naming a bad request) is final at once. The API key is read from the environment at
each request and never stored; credentials in the URL (``user:pass@``, ``?key=…``) are sent as HTTP
auth / query parameters and never shown: messages name the redacted URL (:mod:`spectrex.redact`).

A circuit breaker spans requests: once ``breaker_failures`` requests in a row failed to reach the
server (refused or dropped connections, timeouts, HTTP 502/504) over at least ``breaker_seconds``
with no answer between, every request fails at once with :class:`~spectrex.errors.ServerDownError`
— a dead or hung server stops the run within about a minute instead of each request using up its
own retries and deadline.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from .. import retry
from ..errors import RetryableError, ServerDownError, SpectrexError
from ..redact import redact_text, redact_url, split_url


class ServerError(SpectrexError):
    """The server answered, but not with what spectrex needs (no log-probabilities, bad request, …)."""


#: the adaptive ("auto") timeout: seconds before the first answer, and the cap of the learned value
AUTO_FIRST = 60.0
#: never below this: a server answering in milliseconds still gets time for a GC pause, a swap, a busy GPU
AUTO_FLOOR = 10.0
#: times the slowest answer so far: answers vary with queueing (``concurrency`` requests waiting behind
#: one another on a local server) and with prompt length (a mask keeps from none to all of the parts)
AUTO_FACTOR = 10.0


@dataclass
class RequestPolicy(retry.RetryPolicy):
    """How one HTTP request is retried: a :class:`~spectrex.retry.RetryPolicy` with a deadline, timeouts
    and the circuit breaker's settings.

    Attempt ``k`` (0-based) that failed waits ``min(max_delay, base_delay * 2**k)`` times a random
    factor in [0.5, 1], or the server's ``Retry-After`` when longer; after ``max_retries`` retries,
    or when the next wait would pass ``deadline`` seconds since the first attempt, the last failure
    is raised. The server's ``Retry-After`` is honoured whole (there is a deadline): when it asks for
    a wait past the deadline the request fails at once, saying so. Each attempt's timeout is
    :meth:`attempt_timeout` (or what is left of the deadline, when less).

    ``timeout=None`` ("auto", the default) adapts the read timeout to the server: 60 s until its
    first answer, then ``max(10 s, 10 × the slowest answer so far)`` capped at 60 s, doubled for
    each retry of a request whose attempt timed out (so a server that is slow for real is still
    answered, within the deadline). A stalled request is thus retried after 10 s on a server that
    answers in a second, instead of holding its slot for a minute. A number is a fixed timeout.

    ``breaker_failures`` and ``breaker_seconds`` set the circuit breaker (module docstring): the
    defaults stop a run against a dead server 20–35 s after its last answer, a hung one
    (answers that never come) after its read timeouts, within 90 s once it has answered once.
    """

    max_retries: int = 8
    base_delay: float = 0.25
    max_delay: float = 10.0
    deadline: float = 300.0
    timeout: float | None = None
    breaker_failures: int = 4
    breaker_seconds: float = 20.0

    def __post_init__(self) -> None:
        v = self.timeout
        if v is not None and not (isinstance(v, (int, float)) and v > 0 and v == v and v != float("inf")):
            raise ValueError(f"timeout must be a positive number of seconds, got {v!r}")
        if self.deadline is None:
            raise ValueError("deadline must be a positive number of seconds, got None")
        super().__post_init__()
        if (
            isinstance(self.breaker_failures, bool)
            or not isinstance(self.breaker_failures, int)
            or self.breaker_failures < 1
        ):
            raise ValueError(f"breaker_failures must be a positive integer, got {self.breaker_failures!r}")
        if not (isinstance(self.breaker_seconds, (int, float)) and 0 <= self.breaker_seconds < float("inf")):
            raise ValueError(f"breaker_seconds must be a non-negative number of seconds, got {self.breaker_seconds!r}")

    def attempt_timeout(self, slowest: float | None, timed_out: int = 0) -> float:
        """Read timeout of one attempt, in seconds.

        Parameters
        ----------
        slowest : float or None
            The slowest successful answer of this server so far (None before the first).
        timed_out : int
            How many earlier attempts of this request timed out.
        """
        if self.timeout is not None:
            return float(self.timeout)
        learned = AUTO_FIRST if slowest is None else min(AUTO_FIRST, max(AUTO_FLOOR, AUTO_FACTOR * slowest))
        return learned * 2**timed_out


def server_root(url: str) -> str:
    """``url`` without a trailing ``/`` or ``/v1`` in its path (user information and query kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    path = path[: -len("/v1")] if path.endswith("/v1") else path
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


class _Transient(RetryableError):
    """One attempt's transient failure (what went wrong, in words): retried under the policy."""

    def __init__(self, failure: str, retry_after: float | None = None, timed_out: bool = False):
        super().__init__(failure, retry_after=retry_after)
        self.timed_out = timed_out


class JSONClient:
    """POST/GET JSON to one server with per-request retries (thread-safe; pickles without its connection pool).

    Parameters
    ----------
    base : str
        The server's base URL, e.g. ``http://127.0.0.1:8080`` (``/v1`` is added by callers). User
        information and query parameters in it are sent with each request (as HTTP basic auth and
        query parameters) and shown only redacted (``shown``).
    policy : RequestPolicy
        Timeouts, retries and the deadline.
    api_key_env : str
        Environment variable holding a bearer token (none sent when unset).
    pool_size : int
        Connections kept open (at least the number of concurrent requests).
    """

    def __init__(self, base: str, policy: RequestPolicy, api_key_env: str = "OPENAI_API_KEY", pool_size: int = 4):
        self.policy, self.api_key_env, self.pool_size = policy, api_key_env, int(pool_size)
        self.base, self._auth, self._params = split_url(base)
        self.base = self.base.rstrip("/")
        #: the URL as shown in messages and stored: no user information, no secret query value
        self.shown = redact_url(base).rstrip("/")
        self._client = None
        self._lock = threading.Lock()
        self.attempts = 0  # every HTTP attempt made (for tests and diagnostics)
        self.retries = 0
        self.timeouts = 0  # attempts that ran out of time
        #: seconds of the slowest successful POST so far (the adaptive timeout's measure; a GET listing
        #: says nothing about how long the model takes)
        self.slowest: float | None = None
        # the circuit breaker: failures to reach the server in a row, since when, and when it opened
        self._streak = 0
        self._streak_since: float | None = None
        self._opened: float | None = None
        self._last_failure = ""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_client"], state["_lock"] = None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _http(self):
        import httpx

        with self._lock:
            if self._client is None:
                limits = httpx.Limits(max_connections=self.pool_size, max_keepalive_connections=self.pool_size)
                self._client = httpx.Client(limits=limits)
            return self._client

    def _headers(self) -> dict:
        key = os.environ.get(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def request(self, method: str, path: str, payload: dict | None = None, what: str = "request", policy=None) -> dict:
        """The JSON answer of ``method path``, after retrying transient failures (see :class:`RequestPolicy`)."""
        url, shown = self.base + path, self.shown + path
        policy = policy or self.policy
        timed_out = 0  # earlier attempts of this request that ran out of time (each doubles the next timeout)
        last: retry.Attempts | None = None

        def attempt(tries: retry.Attempts) -> dict:
            nonlocal timed_out, last
            last = tries
            try:
                return self._attempt(method, url, shown, payload, what, policy, tries, timed_out)
            except _Transient as exc:
                timed_out += bool(exc.timed_out)
                raise

        try:
            return retry.call(attempt, policy, on_retry=self._count_retry)
        except _Transient as exc:
            elapsed, asked = last.elapsed, last.asked
            past = asked is not None and elapsed + asked >= policy.deadline
            raise RetryableError(
                f"the model server at {shown} failed the {what}: {exc}"
                + (f" (the server asked to wait {asked:g} s, past the deadline)" if past else "")
                + f", after {last.retries + 1} attempt(s) over {elapsed:.1f} s (deadline {policy.deadline:g} s). "
                "Check that the server is running and the URL is right, or raise --timeout; answers already "
                "received are kept in the cache",
                retry_after=asked,
                exhausted=True,
            ) from None

    def _attempt(self, method, url, shown, payload, what, policy, tries, timed_out) -> dict:
        """One HTTP attempt: the answer, or :class:`_Transient` for a failure worth retrying (or a final error)."""
        import httpx

        self._check_breaker(policy)
        left = max(0.05, tries.left())
        read = min(policy.attempt_timeout(self.slowest, timed_out), left)
        # connecting and sending are not the model's work: the first-answer (or fixed) timeout
        other = min(policy.timeout if policy.timeout is not None else AUTO_FIRST, left)
        timeout = httpx.Timeout(other, read=max(0.05, read))
        with self._lock:
            self.attempts += 1
        t_attempt = time.monotonic()
        try:
            resp = self._http().request(
                method, url, json=payload, headers=self._headers(), timeout=timeout,
                auth=self._auth, params=self._params or None,
            )  # fmt: skip
            body = resp.content  # read it all here: a truncated body raises now, inside the retry
        except httpx.TimeoutException as exc:
            failure = f"no answer within {read:.3g} s ({type(exc).__name__})"
            with self._lock:
                self.timeouts += 1
            self._unreachable(failure, t_attempt, policy)
            raise _Transient(failure, timed_out=True) from exc
        except httpx.TransportError as exc:
            failure = f"cannot reach it, connection failed ({type(exc).__name__})"
            self._unreachable(failure, t_attempt, policy)
            raise _Transient(failure) from exc
        code = resp.status_code
        if code in (502, 504):  # a gateway whose server behind it is gone
            self._unreachable(f"HTTP {code}", t_attempt, policy)
        else:
            self._reached()
        if code == 429 or (code >= 500 and code not in (501, 505)):
            raise _Transient(f"HTTP {code}", retry_after=retry.retry_after(resp.headers.get("retry-after")))
        if code in (401, 403):
            raise ServerError(
                f"the model server at {shown} refused the {what} (HTTP {code}); "
                f"set the API key in the environment variable {self.api_key_env}"
            )
        if code >= 400:
            said = redact_text(resp.text[:300].strip())
            raise ServerError(
                f"the model server at {shown} rejected the {what} (HTTP {code}): {said}; "
                "check the URL, the model name and the server's options"
            )
        try:
            data = _json(body)
        except ValueError:
            raise _Transient("a malformed or truncated JSON body") from None
        if method == "POST":
            took = time.monotonic() - t_attempt
            with self._lock:
                self.slowest = took if self.slowest is None else max(self.slowest, took)
        return data

    def _count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    # -- the circuit breaker ------------------------------------------------------------------------
    def _reached(self) -> None:
        with self._lock:
            self._streak, self._streak_since, self._opened = 0, None, None

    def _unreachable(self, failure: str, started: float, policy: RequestPolicy) -> None:
        """Count one failure to reach the server; open the breaker (and raise) when the streak is long enough."""
        now = time.monotonic()
        with self._lock:
            if self._streak == 0:
                self._streak_since = started
            self._streak += 1
            self._last_failure = failure
            if (
                self._opened is None
                and self._streak >= policy.breaker_failures
                and (now - self._streak_since >= policy.breaker_seconds)
            ):
                self._opened = now
        self._check_breaker(policy)

    def _check_breaker(self, policy: RequestPolicy) -> None:
        with self._lock:
            opened, streak, since, last = self._opened, self._streak, self._streak_since, self._last_failure
            if opened is not None and time.monotonic() - opened >= max(policy.breaker_seconds, 1.0):
                self._opened = None  # half-open: a request made long after may try again
                return
        if opened is not None:
            raise ServerDownError(
                f"the server at {self.shown} stopped answering: {streak} requests in a row could not reach it over "
                f"{opened - since:.0f} s (last: {last})"
            )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _json(body: bytes) -> dict:
    import json

    data = json.loads(body.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data
