"""The ``spectrex`` command. Each sub-command lives in its own module with an ``add_parser(sub)``."""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from rich.console import Console

from .._version import __version__
from ..errors import SpectrexError

# sub-command modules, in the order `spectrex --help` lists them
COMMANDS = ["demo", "explain", "image", "report", "serve", "summarize"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spectrex",
        description="Explain what a model does with its input by finding the interactions between input parts.",
    )
    parser.add_argument("--version", action="version", version=f"spectrex {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .. import console as talk

    args = build_parser().parse_args(argv)
    console = Console()
    was_quiet = talk.is_quiet()
    talk.set_quiet(was_quiet or getattr(args, "quiet", False))
    try:
        return int(args.run(args, console) or 0)
    except (SpectrexError, ValueError, TypeError, FileNotFoundError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    finally:
        talk.set_quiet(was_quiet)


if __name__ == "__main__":
    sys.exit(main())
