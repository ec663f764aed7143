"""A run's settings, stated once: every run-level default, its help text and its checks.

:class:`RunSettings` is what one text explanation (:func:`spectrex.explain_text`), a dataset run
(:func:`spectrex.explain_dataset`, its record workers and Ray actors) and an image record take, and
what the command line declares its options from (:mod:`spectrex.cli.settings_args`). Defaults owned
by a lower layer are referred to, not restated: the method (:data:`spectrex.api.DEFAULT_METHOD`), the
engine's batch size and error policy (:mod:`spectrex.engine.query`).

Adding a run option is one field here (default, help, parser) plus its use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .api import DEFAULT_METHOD, check_method
from .engine.query import DEFAULT_BATCH_SIZE, DEFAULT_ON_ERROR, ON_ERROR, check_batch_size, check_on_error
from .parts.text import MASKINGS, UNITS
from .validate import check_flag, is_whole

#: where a run's work goes: in-process, threads / async calls (a record's queries), Ray actors (whole records)
BACKENDS = ("local", "threads", "async", "ray")
#: the patch grid of image records and ``explain-image`` when none is given
DEFAULT_GRID = (3, 3)
#: result settings recorded in ``run.json`` only when given: folders written before they existed resume
WHEN_GIVEN = ("grid", "replacement")


def int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """A parser of a whole number in ``[low, high]`` (``ValueError`` naming the range)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"invalid int value: {text!r}; give a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {span}, got {value}")
        return value

    return parse


def parse_batch_size(text: str) -> int | str:
    """``auto`` or a positive integer."""
    try:
        return check_batch_size(text if text == "auto" else int(text))
    except ValueError:
        raise ValueError(f"must be a positive integer or 'auto', got {text!r}") from None


def parse_grid(text: str) -> tuple[int, int]:
    """``ROWSxCOLS``, e.g. ``3x3``."""
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--grid takes ROWSxCOLS, e.g. 3x3; got {text!r}") from None
    if rows < 1 or cols < 1:
        raise ValueError(f"--grid needs at least 1 row and 1 column, e.g. 3x3; got {text!r}")
    return rows, cols


def _option(default, help: str, parse: Callable | None = str, choices=None, result: bool = False, cli: bool = True,
            dataset: bool = False):  # fmt: skip
    """A field of :class:`RunSettings`: its default, the CLI's help and parser (None: a switch), whether it decides
    results (recorded in a dataset run's ``run.json``: a rerun with another value is refused), and whether it is
    an option of dataset runs alone (``spectrex explain --inputs`` declares all of those)."""
    meta = {"help": help, "parse": parse, "choices": choices, "result": result, "cli": cli, "dataset": dataset}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunSettings:
    """How a run explains: method, budget, parts, masking, held-out check, seed, query engine, outputs.

    Frozen and picklable (a dataset run hands it to its workers and Ray actors); checked when made.
    Each field's ``metadata["help"]`` is the CLI's help for its option ``--field-name``.
    """

    method: str = _option(
        DEFAULT_METHOD, "proxyspex, spex, exact, … (default auto: exact up to 10 parts, else proxyspex)", result=True
    )
    budget: int | None = _option(None, "most model queries to spend (default: the method's)", int, result=True)
    max_order: int | None = _option(None, "highest interaction order to recover", int_at_least(0), result=True)
    parts: str = _option(
        "words", "what a part is (default words)", choices=("words", "sentences", "paragraphs", "tokens"), result=True
    )
    masking: str = _option(
        "remove",
        "how a hidden part is hidden: removed (default; natural text for LMs), the tokenizer's mask token, or '_'",
        choices=MASKINGS,
        result=True,
    )
    replacement: str | None = _option(None, "the text put in place of a hidden part (masking mask or replace)",
                                      result=True, cli=False)  # fmt: skip
    holdout: int = _option(64, "extra random queries to measure faithfulness R² (64)", int, result=True)
    seed: int = _option(0, "random seed of the masks (0)", int_at_least(0), result=True)
    top: int = _option(10, "interactions shown, or kept per record in a dataset's index (10)", int_at_least(1))
    batch_size: int | str = _option(DEFAULT_BATCH_SIZE, "masks per model call, or 'auto' (default)", parse_batch_size)
    on_error: str = _option(
        DEFAULT_ON_ERROR,
        "masks on which the model fails twice: stop with an error (default) or leave them out",
        choices=ON_ERROR,
    )
    backend: str = _option(
        "local", "where batches run (with --inputs, ray runs whole records on Ray actors)", choices=BACKENDS
    )
    workers: int | None = _option(None, "threads / concurrent requests / Ray actors", int)
    grid: tuple[int, int] | None = _option(None, "image records: the patch grid ROWSxCOLS (default 3x3)", parse_grid,
                                           result=True, dataset=True)  # fmt: skip
    per_token: bool = _option(
        False,
        "LMs: explain each token of the target (given or generated) and the whole sequence, from the same "
        "queries: a parts × tokens table",
        None,
    )
    all_labels: bool = _option(
        False, "classifiers: explain every label at once (the toxicity model's six), from the same queries", None
    )
    limit: int | None = _option(
        None,
        "explain only the first N records (try a run's settings and cost first; a rerun without it goes on)",
        int_at_least(1),
        dataset=True,
    )
    #: where a dataset's relative image paths are read from (its records file's folder)
    records_dir: str | None = _option(None, "folder of the records file", cli=False)

    def __post_init__(self) -> None:
        holdout = self.holdout
        if not is_whole(holdout, 0) or holdout == 1:
            raise ValueError(
                f"holdout must be 0 (no faithfulness check) or at least 2 random masks (R² needs two), got {holdout!r}"
            )
        object.__setattr__(self, "holdout", int(holdout))
        if not is_whole(self.seed, 0):
            raise ValueError(f"seed must be a whole number ≥ 0, got {self.seed!r}")
        check_method(self.method)  # "unknown method …; choose one of: …"
        # checked here, not in every record of a dataset run (each one refused with the same reason)
        if self.budget is not None and not is_whole(self.budget, 1):
            raise ValueError(f"budget must be a whole number of queries, at least 1, got {self.budget!r}")
        if self.max_order is not None and not is_whole(self.max_order, 0):
            raise ValueError(f"max_order must be a whole number ≥ 0 (or None: the method's), got {self.max_order!r}")
        for name in ("per_token", "all_labels"):
            object.__setattr__(self, name, check_flag(name, getattr(self, name)))
        if self.parts not in UNITS:
            raise ValueError(f"unknown parts {self.parts!r}; choose one of: {', '.join(UNITS)}")
        if self.masking not in MASKINGS:
            raise ValueError(f"unknown masking {self.masking!r}; choose one of: {', '.join(MASKINGS)}")
        if not is_whole(self.top, 0):
            raise ValueError(f"top must be a whole number of interactions (0 or more), got {self.top!r}")
        object.__setattr__(self, "top", int(self.top))
        object.__setattr__(self, "batch_size", check_batch_size(self.batch_size))
        check_on_error(self.on_error)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose one of: {', '.join(BACKENDS)}")
        if self.workers is not None and not is_whole(self.workers, 1):
            raise ValueError(f"workers must be a whole number, at least 1, got {self.workers!r}")
        if self.limit is not None and not is_whole(self.limit, 1):
            raise ValueError(f"limit must be a whole number of records, at least 1, got {self.limit!r}")
        if self.grid is not None:
            grid = parse_grid(self.grid) if isinstance(self.grid, str) else tuple(np.atleast_1d(self.grid).tolist())
            if len(grid) != 2 or not all(is_whole(v, 1) for v in grid):
                raise ValueError(f"grid is (rows, cols), each at least 1, e.g. (3, 3) or '3x3'; got {self.grid!r}")
            object.__setattr__(self, "grid", tuple(int(v) for v in grid))

    # -- made from -------------------------------------------------------------------------
    @classmethod
    def default(cls, name: str) -> Any:
        """The default of the field ``name``."""
        return cls.__dataclass_fields__[name].default

    @classmethod
    def given(cls, settings: RunSettings | None, **keywords) -> RunSettings:
        """``settings`` when given (then every keyword must be at its default), else the keywords' settings.

        The keyword arguments of :func:`~spectrex.explain_text` and :func:`~spectrex.explain_dataset` are a
        shim over this: either form, not both.
        """
        if settings is None:
            return cls(**keywords)
        if not isinstance(settings, cls):
            raise TypeError(f"settings must be a RunSettings, got {type(settings).__name__}")
        changed = sorted(k for k, v in keywords.items() if not _same(v, cls.default(k)))
        if changed:
            raise ValueError(
                f"pass {', '.join(changed)} either in settings=RunSettings(...) or as keyword arguments, not both"
            )
        return settings

    @classmethod
    def from_args(cls, args) -> RunSettings:
        """The settings of a parsed command line (options it lacks keep their defaults); checked here."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})

    def replace(self, **changes) -> RunSettings:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    # -- read by a run ---------------------------------------------------------------------
    def result_settings(self) -> dict[str, Any]:
        """What decides each record's result, as a dataset run records it in ``run.json``.

        The fields marked ``result``; those of :data:`WHEN_GIVEN` only when given.
        """
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["result"] and not (value is None and f.name in WHEN_GIVEN):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def model_flags(self) -> dict[str, bool]:
        """``per_token`` / ``all_labels`` as settings of a model loaded by name, only those set."""
        return {k: True for k in ("per_token", "all_labels") if getattr(self, k)}

    def engine(self, **options):
        """A :class:`~spectrex.engine.QueryEngine` with these settings' batch size, error policy, back-end and
        workers; ``options`` (``cache``, ``progress``, ``backend``, …) are passed on and win."""
        from .engine import QueryEngine

        base = {"batch_size": self.batch_size, "on_error": self.on_error, "backend": self.backend,
                "workers": self.workers}  # fmt: skip
        return QueryEngine(**{**base, **options})

    def record_engine(self, **options):
        """The query engine of one record of a dataset run: ``threads`` / ``async`` spread the record's queries;
        with ``ray`` whole records run on actors, so their queries run in-process."""
        spread = self.backend in ("threads", "async")
        return self.engine(backend=self.backend if spread else "local", workers=self.workers if spread else None,
                           **options)  # fmt: skip


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # an array compared: not a default
        return False
