"""Progress reporting: a rich bar on a terminal, a callback for notebooks and services, or nothing."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

#: runs shorter than this many model queries never show a bar
MIN_QUERIES_FOR_BAR = 2048


class Progress:
    """Counts model queries done out of an expected total and reports them.

    Parameters
    ----------
    mode : None, bool or callable
        ``None``: a bar when stderr is a terminal and the run is long; ``False``: silent;
        ``True``: a bar whenever stderr is a terminal; ``callable(done, total)``: called after each batch.
    """

    def __init__(self, mode: bool | None | Callable[[int, int], object] = None) -> None:
        if not (mode is None or isinstance(mode, bool) or callable(mode)):
            raise TypeError(f"progress must be True, False, None or a callable(done, total); got {mode!r}")
        self.mode = mode
        self.done = 0
        self.total = 0
        self._bar = None
        self._task = None

    def _want_bar(self) -> bool:
        if self.mode is False or callable(self.mode) and not isinstance(self.mode, bool):
            return False
        if not sys.stderr.isatty():
            return False
        return self.mode is True or self.total >= MIN_QUERIES_FOR_BAR

    def expect(self, more: int) -> None:
        """``more`` queries will be sent (raises the total if it was lower)."""
        self.total = max(self.total, self.done + int(more))
        if self._bar is None and self._want_bar():
            self._start()
        elif self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def set_total(self, total: int | None) -> None:
        if total:
            self.total = max(self.total, int(total))

    def advance(self, k: int) -> None:
        self.done += int(k)
        if callable(self.mode) and not isinstance(self.mode, bool):
            self.mode(self.done, max(self.total, self.done))
        elif self._bar is not None:
            self._bar.update(self._task, completed=self.done, total=max(self.total, self.done))

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):
                speed = task.finished_speed or task.speed
                return Text("… q/s" if speed is None else f"{speed:,.0f} q/s")

        self._bar = RichProgress(
            TextColumn("queries"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("queries", total=self.total, completed=self.done)
        self._t0 = time.perf_counter()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
