"""Exceptions raised by spectrex. Each message says what happened and what to do instead."""


class SpectrexError(Exception):
    """Base class of every spectrex error."""


class ValueFunctionError(SpectrexError, ValueError):
    """A value function broke the contract (wrong length, NaN/inf, wrong type, or it raised)."""

    def __init__(self, message: str, rows=None):
        super().__init__(message)
        self.rows = None if rows is None else [int(r) for r in rows]


class BudgetError(SpectrexError, ValueError):
    """A query budget that a method cannot work with."""

    def __init__(self, message: str, minimum: int | None = None):
        super().__init__(message)
        self.minimum = minimum


class ResourceError(SpectrexError, ValueError, MemoryError):
    """Something too large for this machine (a design, a conversion, a dense oracle): the one "too
    large" error. The message says how large and what to lower; ``needed`` and ``limit`` are the
    sizes compared (bytes, rows or terms), when known. It is a :class:`MemoryError` too, so code that
    guards against running out of memory catches it."""

    def __init__(self, message: str, needed: int | None = None, limit: int | None = None):
        super().__init__(message)
        self.needed = None if needed is None else int(needed)
        self.limit = None if limit is None else int(limit)


class CacheError(SpectrexError):
    """A query cache that cannot be used (corrupt, or written by an incompatible version)."""


class PartialResultError(SpectrexError):
    """A value function answered some rows of a batch and not others.

    The query engine keeps ``values`` where they are finite and re-sends only the failed rows
    (``errors`` maps a row of the batch to what went wrong with it).
    """

    def __init__(self, message: str, values, errors: dict):
        super().__init__(message)
        self.values = values
        self.errors = dict(errors)


class ServerDownError(SpectrexError):
    """A model server stopped answering (connections refused or timing out, request after request).

    Raised by a served model's circuit breaker; the query engine stops the run at once (every
    further request would fail the same way), whatever ``on_error`` says, and says how many answers
    are stored so that a rerun resumes from them.
    """


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
    """Ray workers kept dying; the work they held was not done.

    ``restarts`` is how many replacement workers the run had started when it gave up.
    """

    def __init__(self, message: str, restarts: int = 0):
        super().__init__(message)
        self.restarts = int(restarts)
