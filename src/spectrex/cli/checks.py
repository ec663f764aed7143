"""Argument types and checks shared by the sub-commands: bounded integers, writable output paths."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def int_at_least(low: int, high: int | None = None):
    """An argparse ``type``: an integer in ``[low, high]`` (the message names the range)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}; give a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


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
