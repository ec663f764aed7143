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
