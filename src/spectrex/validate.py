"""Checks of settings, one of each kind, shared by every layer (it imports nothing of spectrex).

Each refusal names the setting and the value it got: ``int()``'s own errors ("invalid literal for int() with
base 10") and ``bool("no")`` (True) name nothing and take a typo silently.
"""

from __future__ import annotations

import numbers

import numpy as np


def is_whole(value, least: int | None = None, most: int | None = None) -> bool:
    """Whether ``value`` is an integer (Python or NumPy, not a bool) in ``[least, most]`` (either end open when
    None)."""
    return (
        not isinstance(value, (bool, np.bool_))
        and isinstance(value, (int, np.integer))
        and (least is None or value >= least)
        and (most is None or value <= most)
    )


def check_whole(name: str, value, least: int, *, optional: bool = False) -> None:
    """Refuse a setting that is not a whole number ``≥ least`` (``None`` too when ``optional``), naming it.

    Integer-valued floats pass (``2.0``: an estimator stores its settings as given, for scikit-learn's
    ``clone``, and converts them where it uses them); strings, lists, booleans, NaN and infinities do not.
    """
    if value is None and optional:
        return
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not float(value).is_integer()
        or value < least
    ):
        what = "a positive integer" if least == 1 else f"an integer ≥ {least}"
        raise ValueError(f"{name} must be {what}{' or None' if optional else ''}, got {value!r}")


def check_number(name: str, value, *, positive: bool = False) -> None:
    """Refuse a setting that is not a finite real number ``≥ 0`` (``> 0`` when ``positive``), naming it."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '≥'} 0, got {value!r}")


def check_flag(name: str, value, *, auto: bool = False) -> bool | str:
    """Refuse a setting that is not True or False (or ``"auto"`` when ``auto``), naming it; returns it as a
    ``bool`` (or ``"auto"``). ``1 == True``, so ``value in (True, False)`` would take 1 and 0, and code that
    then asks ``value is True`` reads them the other way."""
    if auto and isinstance(value, str) and value == "auto":
        return "auto"
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True{', False or ' + repr('auto') if auto else ' or False'}, got {value!r}")
    return bool(value)
