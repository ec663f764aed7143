"""The package's version is the one the CHANGELOG's top section describes."""

import re
from pathlib import Path

import spectrex

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_the_changelogs_top_heading():
    heading = next(line for line in (ROOT / "CHANGELOG.md").read_text().splitlines() if line.startswith("## "))
    version = re.match(r"## (\S+)", heading).group(1)
    assert spectrex.__version__ == version, f"spectrex says {spectrex.__version__}, CHANGELOG's top is {heading!r}"
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert declared == version, f"pyproject.toml declares {declared}, CHANGELOG's top is {heading!r}"
