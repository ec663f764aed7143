"""The ``spectrex`` command. Each sub-command lives in its own module with an ``add_parser(sub)``."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from importlib import import_module

from rich.console import Console

from .._version import __version__
from ..errors import SpectrexError
from ..redact import redact_text

# sub-command modules, in the order `spectrex --help` lists them
COMMANDS = ["demo", "explain", "image", "report", "serve", "summarize"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spectrex",
        description="Explain what a model does with its input by finding the interactions between input parts.",
    )
    parser.add_argument("--version", action="version", version=f"spectrex {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").add_parser(sub)
    for command in sub.choices.values():  # --debug also after the sub-command
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .. import console as talk

    args = build_parser().parse_args(argv)
    _printable_anywhere()
    console = Console()
    was_quiet = talk.is_quiet()
    talk.set_quiet(was_quiet or getattr(args, "quiet", False))
    debug = bool(getattr(args, "debug", False)) or os.environ.get("SPECTREX_DEBUG") == "1"
    try:
        return int(args.run(args, console) or 0)
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]interrupted[/]")
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line (the traceback with --debug)
        # on stderr, as argparse's own errors: `spectrex … > out.txt` still shows them, and no output file holds them
        errors = Console(stderr=True)
        if debug:
            errors.print_exception()
        errors.print(f"[bold red]error:[/] {error_line(exc)}", soft_wrap=True, markup=True, highlight=False)
        return 2 if _expected(exc) else 1
    finally:
        talk.set_quiet(was_quiet)


def _printable_anywhere() -> None:
    """Where the terminal's encoding cannot show a character (``LANG=C``: ASCII), print a ``?`` instead of
    failing; files are written in UTF-8 whatever the locale."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(errors="replace")


def _expected(exc: BaseException) -> bool:
    if isinstance(exc, ImportError) and "pip install" in str(exc):
        return True  # an optional package is missing, and the message says which to install
    return isinstance(exc, (SpectrexError, ValueError, TypeError, OSError, LookupError))


def error_line(exc: BaseException) -> str:
    """One line saying what went wrong and what to do (the message's lines joined; markup escaped)."""
    from rich.markup import escape

    if isinstance(exc, OSError) and not isinstance(exc, SpectrexError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        text = f"{exc.strerror}{where}"
        if exc.errno == errno.EADDRINUSE:
            text += ": another program uses this port; pick another with --port (0 picks a free one)"
        elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
            text += ": check the path"
        elif exc.errno in (errno.EACCES, errno.EPERM):
            text += ": check the permissions, or choose another path"
        elif exc.errno == errno.ENOSPC:
            text += ": free some disk space, or write elsewhere"
    elif isinstance(exc, json.JSONDecodeError):
        text = f"a file given is not valid JSON ({exc}); check it"  # readers of known files name the file
    elif _expected(exc):
        text = str(exc) or type(exc).__name__
    else:
        text = (
            f"unexpected {type(exc).__name__}: {exc}. This is a bug in spectrex: run again with --debug and "
            "report the traceback"
        )
    # a served model's URL may carry credentials: no message shows them
    return escape(redact_text(" ".join(line.strip() for line in text.splitlines() if line.strip())))


if __name__ == "__main__":
    sys.exit(main())
