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
#: the time left is said when it is at least this many seconds: after the first batch if that batch alone took
#: this long (a slow model), else after the second, from the second's rate — the first pays the start-up (a
#: kernel's compilation, a model's first forward pass): on a planted function at n = 256 it said "about 7 min
#: 35 s" for a run that took 3 s
ETA_MIN_S = 10.0


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``1 h 05 min``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """Counts model queries done out of an expected total and reports them.

    Parameters
    ----------
    mode : None, bool or callable
        ``None``: a bar when someone can see it (a terminal or a notebook, not ``--quiet``);
        ``False``: silent; ``True``: a bar even when spectrex is quiet (still only on a terminal or in
        a notebook); ``callable(done, total)``: called after each batch.
    """

    def __init__(
        self, mode: bool | None | Callable[[int, int], object] = None, eta: Callable[[str], str | None] | None = None
    ) -> None:
        if not (mode is None or isinstance(mode, bool) or callable(mode)):
            raise TypeError(f"progress must be True, False, None or a callable(done, total); got {mode!r}")
        self.mode = mode
        #: given the time estimate early in a long run (see :data:`ETA_MIN_S`), returns the line to show (or None)
        self.eta = eta if mode is None or mode is True else None
        self._t_first: float | None = None
        #: the time and count at the end of the first batch (the start-up's), once it is done
        self._after_first: tuple[float, int] | None = None
        self._eta_checked = False
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
        if self._t_first is None:
            self._t_first = time.perf_counter()
        if self._bar is None and self.total > self.done and self._want_bar():
            self._start()
        elif self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def set_total(self, total: int | None) -> None:
        if total:
            self.total = max(self.total, int(total))

    def advance(self, k: int) -> None:
        self.done += int(k)
        if self.eta is not None and not self._eta_checked and self._t_first is not None:
            self._check_eta(time.perf_counter())
        if self._callback:
            self.mode(self.done, max(self.total, self.done))
        elif self._bar is not None:
            self._bar.update(self._task, completed=self.done, total=max(self.total, self.done))

    def _check_eta(self, now: float) -> None:
        """At the end of the first batch, or of the second when the first was quick (see :data:`ETA_MIN_S`)."""
        if self._after_first is None:
            self._after_first = (now, self.done)
            if now - self._t_first < ETA_MIN_S:
                return  # one batch more: this one paid the start-up
            rate = self.done / (now - self._t_first)
        else:
            t1, d1 = self._after_first
            rate = (self.done - d1) / max(now - t1, 1e-9)
        self._eta_checked = True
        self._tell_eta(now - self._t_first, rate)

    def _tell_eta(self, elapsed: float, rate: float) -> None:
        """The time so far and what the remaining queries will take at ``rate`` (queries per second), if long."""
        left = max(self.total - self.done, 0)
        if self.done <= 0 or elapsed <= 0 or rate <= 0:
            return
        remaining = left / rate
        if remaining < ETA_MIN_S:
            return
        line = self.eta(
            f"first {self.done:,} queries took {elapsed:.1f} s: about {duration(remaining)} for the other {left:,}"
        )
        if line and not console.is_quiet():
            from rich.markup import escape

            # through the bar's own console, so the line goes above the live bar, not into it
            out = self._bar.console if self._bar is not None else console.stderr_console()
            out.print(f"[dim]{escape(line)}[/]", highlight=False, soft_wrap=True)

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
