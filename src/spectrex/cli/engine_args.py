"""Query-engine options shared by every sub-command that queries a model.

Use in a sub-command module::

    from .engine_args import add_engine_args, engine_from_args

    def add_parser(sub):
        p = sub.add_parser(...)
        add_engine_args(p)

    def run(args, console):
        with engine_from_args(args, cache_key=...) as engine:
            result = explain(f, n, engine=engine)
"""

from __future__ import annotations

import argparse

from .settings_args import add_settings_args


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--cache``, ``--batch-size``, ``--backend``, ``--workers``, ``--on-error`` and ``--no-progress``."""
    g = parser.add_argument_group("query engine")
    g.add_argument(
        "--cache",
        metavar="PATH",
        default=None,
        help="SQLite file of model answers; a run that was interrupted or repeated re-queries nothing stored there "
        "(created readable by you only; spectrex explain keeps answers in $SPECTREX_CACHE/answers without it)",
    )
    g.add_argument(
        "--no-cache",
        action="store_true",
        help="keep no model answers on disk (a rerun asks the model everything again)",
    )
    add_settings_args(g, "batch_size", "backend", "workers", "on_error")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars, spinners or notes (results only)")


def check_engine_args(args: argparse.Namespace) -> None:
    """Refuse conflicting engine options (called before any model loads)."""
    if getattr(args, "cache", None) and getattr(args, "no_cache", False):
        raise ValueError("give either --cache PATH or --no-cache, not both")


def engine_from_args(args: argparse.Namespace, cache_key=None, keep_answers: bool = False, hint: str | None = None):
    """A :class:`~spectrex.engine.QueryEngine` from the options of :func:`add_engine_args`.

    ``cache_key`` names the model and input in the cache when the value function has no ``fingerprint``.
    ``keep_answers``: without ``--cache`` (and unless ``--no-cache``), keep the answers in the default
    folder ``$SPECTREX_CACHE/answers``, one bounded file per value function, so that an interrupted
    run resumes. ``hint`` is shown with the time estimate early in a long run (the flag that costs less).
    """
    from ..settings import RunSettings

    check_engine_args(args)
    folder = None
    if keep_answers and not args.cache and not getattr(args, "no_cache", False):
        from ..models._cache import cache_root

        folder = cache_root() / "answers"
    return RunSettings.from_args(args).engine(
        cache=args.cache,
        cache_folder=folder,
        hint=hint,
        cache_key=cache_key,
        progress=False if args.no_progress or getattr(args, "quiet", False) else None,
    )
