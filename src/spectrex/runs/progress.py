"""One progress bar over the records of a run: done / failed / ETA, plus the current record's queries."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .. import console


class RunProgress:
    """Reports a run's progress.

    Parameters
    ----------
    mode : None, bool or callable
        ``None``: a rich bar when one would reach a person (stderr is a terminal or a notebook, and not
        ``--quiet``: :func:`spectrex.console.can_draw`); ``True``: a bar always; ``False``: silent;
        ``callable(event)``: called with a dict (``done``, ``failed``, ``skipped``, ``total``, and
        ``record``/``queries``/``of`` for the record being explained).
    total : int
        Records in the run.
    skipped : int
        Records already finished by an earlier run (counted as done).
    """

    def __init__(self, mode: bool | None | Callable[[dict], object], total: int, skipped: int = 0) -> None:
        if not (mode is None or isinstance(mode, bool) or callable(mode)):
            raise TypeError(f"progress must be True, False, None or a callable(event); got {mode!r}")
        self.mode, self.total, self.skipped = mode, int(total), int(skipped)
        self.done, self.failed = int(skipped), 0
        self._bar = self._task = None
        if mode is True or (mode is None and console.can_draw()):
            self._start()

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("records"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/]"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}"),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("records", total=self.total, completed=self.done, failed=0, current="")

    @property
    def live(self) -> bool:
        """Whether a bar is on screen (then the current record's queries are worth reporting)."""
        return self._bar is not None

    def _emit(self, **extra) -> None:
        if callable(self.mode) and not isinstance(self.mode, bool):
            self.mode({"done": self.done, "failed": self.failed, "skipped": self.skipped, "total": self.total, **extra})

    def record_done(self, ok: bool) -> None:
        """One more record finished (``ok`` False: invalid or failed)."""
        self.done += 1
        self.failed += 0 if ok else 1
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failed=self.failed, current="")
        self._emit()

    def queries(self, record_id: str) -> Callable[[int, int], None]:
        """A query-engine progress callback that shows ``record_id``'s queries on the bar."""

        def update(done: int, total: int) -> None:
            if self._bar is not None:
                label = record_id if len(record_id) <= 24 else record_id[:23] + "…"
                self._bar.update(self._task, current=f"{label}: {done}/{total} queries")
            self._emit(record=record_id, queries=done, of=total)

        return update

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
