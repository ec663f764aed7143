"""Command-line options declared from :class:`~spectrex.settings.RunSettings`: one option per field, with the
field's default, help text, parser and choices (``--max-order`` for ``max_order``)."""

from __future__ import annotations

from dataclasses import fields


def add_settings_args(parser, *names: str, help: dict[str, str] | None = None) -> None:
    """Add the options of the :class:`~spectrex.settings.RunSettings` fields ``names`` to ``parser`` (or a group).

    ``help`` replaces a field's help text where a command means something narrower by it.
    """
    from ..settings import RunSettings
    from .checks import argparse_type

    declared = {f.name: f for f in fields(RunSettings)}
    for name in names:
        f = declared[name]  # a KeyError here is a typo in a sub-command
        meta = f.metadata
        flag = "--" + name.replace("_", "-")
        text = (help or {}).get(name, meta["help"])
        if meta["parse"] is None:  # a switch
            parser.add_argument(flag, action="store_true", help=text)
            continue
        choices = list(meta["choices"]) if meta["choices"] else None
        parser.add_argument(flag, type=argparse_type(meta["parse"]), default=f.default, choices=choices, help=text)


def dataset_options() -> tuple[str, ...]:
    """The fields that are options of dataset runs alone (``spectrex explain --inputs``)."""
    from ..settings import RunSettings

    return tuple(f.name for f in fields(RunSettings) if f.metadata["dataset"] and f.metadata["cli"])
