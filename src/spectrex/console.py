"""Where spectrex talks to a person: quiet mode, spinners for waits, and whether a live display can be shown.

Kept apart from the engine and the models so both can use it without importing each other. Live
displays go to stderr on a terminal and to a widget in Jupyter; in pipes, CI logs and ``--quiet``
runs nothing is drawn.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

_QUIET = os.environ.get("SPECTREX_QUIET", "") not in ("", "0")


def set_quiet(quiet: bool = True) -> None:
    """Silence every progress bar and spinner of this process (the CLI's ``--quiet``)."""
    global _QUIET
    _QUIET = bool(quiet)


def is_quiet() -> bool:
    return _QUIET


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where stderr is not a terminal but a widget can be drawn)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:  # noqa: BLE001 - any IPython oddity means: not a notebook
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def can_draw() -> bool:
    """Whether a live display would reach a person: not quiet, and a terminal or a notebook."""
    return not _QUIET and (sys.stderr.isatty() or in_notebook())


_CONSOLE = None


def stderr_console():
    """The one rich Console on stderr (in a notebook rich renders into the cell's output instead).

    One shared instance, so a note printed while a spinner or bar is live goes above it cleanly.
    """
    global _CONSOLE
    from rich.console import Console

    if _CONSOLE is None or _CONSOLE.file is not sys.stderr:  # pytest's capsys swaps stderr
        _CONSOLE = Console(file=sys.stderr)
    return _CONSOLE


@contextlib.contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner with ``message`` while the block runs, when someone can see it."""
    if not can_draw():
        yield
        return
    with stderr_console().status(message):
        yield


def note(message: str) -> None:
    """A one-line dim note on stderr (skipped when quiet)."""
    if not _QUIET:
        stderr_console().print(f"[dim]{message}[/]")


@contextlib.contextmanager
def hush_transformers() -> Iterator[None]:
    """Silence transformers' own tqdm bars and warnings while the block runs (spectrex shows its own)."""
    try:
        from transformers.utils import logging as tlog
    except ImportError:
        yield
        return
    was_enabled = tlog.is_progress_bar_enabled()
    level = tlog.get_verbosity()
    tlog.disable_progress_bar()
    tlog.set_verbosity_error()
    try:
        yield
    finally:
        tlog.set_verbosity(level)
        if was_enabled:
            tlog.enable_progress_bar()


@contextlib.contextmanager
def swallow_stderr() -> Iterator[None]:
    """Keep what libraries print on ``sys.stderr`` (tqdm bars that no switch turns off) out of the
    terminal while the block runs; the spinner, drawn on the console made before, stays. Shown after
    all if the block fails, since it may explain why."""
    import io

    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    except BaseException:
        sys.stderr.write(buffer.getvalue()[-4000:])
        raise
