"""Progress of model queries: a rich bar on a terminal or in Jupyter, a callback, or nothing.

The bar starts with the first query (a 500-query run of a CPU language model takes minutes, and a
person must see it move from the first second); a run that ends within two seconds erases its bar,
so quick runs leave no clutter.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import console

#: a bar of a run shorter than this many seconds is erased when it ends
TRANSIENT_S = 2.0


class Progress:
    """Counts model queries done out of an expected total and reports them.

    Parameters
    ----------
    mode : None, bool or callable
        ``None``: a bar when someone can see it (a terminal or a notebook, not ``--quiet``);
        ``False``: silent; ``True``: a bar even when spectrex is quiet (still only on a terminal or in
        a notebook); ``callable(done, total)``: called after each batch.
    """

    def __init__(self, mode: bool | None | Callable[[int, int], object] = None) -> None:
        if not (mode is None or isinstance(mode, bool) or callable(mode)):
            raise TypeError(f"progress must be True, False, None or a callable(done, total); got {mode!r}")
        self.mode = mode
        self.done = 0
        self.total = 0
        self._bar = None
        self._task = None
        self._t0 = 0.0

    @property
    def _callback(self) -> bool:
        return callable(self.mode) and not isinstance(self.mode, bool)

    def _want_bar(self) -> bool:
        if self.mode is False or self._callback:
            return False
        if self.mode is True:
            import sys

            return sys.stderr.isatty() or console.in_notebook()
        return console.can_draw()

    def expect(self, more: int) -> None:
        """``more`` queries will be sent (raises the total if it was lower)."""
        self.total = max(self.total, self.done + int(more))
        if self._bar is None and self.total > self.done and self._want_bar():
            self._start()
        elif self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def set_total(self, total: int | None) -> None:
        if total:
            self.total = max(self.total, int(total))

    def advance(self, k: int) -> None:
        self.done += int(k)
        if self._callback:
            self.mode(self.done, max(self.total, self.done))
        elif self._bar is not None:
            self._bar.update(self._task, completed=self.done, total=max(self.total, self.done))

    def _start(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):
                speed = task.finished_speed or task.speed
                if speed is None and task.completed and task.elapsed:
                    speed = task.completed / task.elapsed  # one update so far: the average since the start
                if speed is None:
                    return Text("… q/s")
                return Text(f"{speed:,.1f} q/s" if speed < 10 else f"{speed:,.0f} q/s")

        self._bar = RichProgress(
            TextColumn("queries"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=console.stderr_console(),
            refresh_per_second=4,
        )
        self._bar.start()
        self._task = self._bar.add_task("queries", total=self.total, completed=self.done)
        self._t0 = time.perf_counter()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.live.transient = time.perf_counter() - self._t0 < TRANSIENT_S
            self._bar.stop()
            self._bar = None
