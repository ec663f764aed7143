"""Argument types and checks shared by the sub-commands: bounded integers, writable output paths."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def int_at_least(low: int, high: int | None = None):
    """An argparse ``type``: an integer in ``[low, high]`` (the message names the range)."""
    from ..settings import int_at_least as parser

    return argparse_type(parser(low, high), "int")


def argparse_type(parse, name: str | None = None):
    """An argparse ``type`` from a parser raising ``ValueError``: its message becomes the option's error."""
    if parse in (int, float, str):
        return parse  # argparse's own "invalid int value: 'x'"

    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name or getattr(parse, "__name__", "value")
    return convert


def index_name(text: str) -> str:
    """An argparse ``type``: an index name (any accepted spelling), checked before any work is done."""
    from ..transforms.indices import canonical_index

    return argparse_type(canonical_index, "index")(text)


def seconds_or_auto(text: str) -> float | str:
    """An argparse ``type``: ``"auto"`` or a positive number of seconds."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}; give seconds (e.g. 30) or auto") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds or auto, got {text}")
    return value


def check_output(path, flag: str) -> None:
    """Refuse an output path that cannot be written, before any model is loaded or queried."""
    if path is None:
        return
    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise ValueError(f"{flag} {path} is a folder; give a file path such as {out / 'result'}")
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder of {flag} {path} does not exist; create it first (mkdir -p {folder})")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise PermissionError(f"cannot write {flag} {path}: no write permission; choose another path")


def check_result_file(path: Path) -> None:
    """Refuse, before rendering, a file that is not a spectrex result or declares more parts than a report shows."""
    from ..report.html import check_report_file  # the viewer's /view/ applies the same bound

    check_report_file(path)
