"""Helpers of the dataset-run tests, importable by child processes and Ray actors (this folder on their path)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from spectrex.models.toxicity import ToxicityScorer


class CountingToxicity(ToxicityScorer):
    """The toxicity model, logging every call's texts to a file, and SIGKILLing its own process at call ``kill_at``.

    A call is logged after it is scored and before the engine stores its answers; the kill comes at the
    start of a call, so every logged text is one the engine went on to store.
    """

    def __init__(self, log: str, kill_at: int | None = None, **kw) -> None:
        super().__init__(**kw)
        # a list, shared by the per-record copies the run makes of the scorer
        self.log, self.kill_at, self.calls = log, kill_at, [0]

    def score(self, texts):
        self.calls[0] += 1
        if self.kill_at is not None and self.calls[0] == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        out = super().score(texts)
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "texts": list(texts)}) + "\n")
        return out


def read_log(path) -> list[list[str]]:
    """The texts of each logged call."""
    p = Path(path)
    return [json.loads(line)["texts"] for line in p.read_text().splitlines()] if p.exists() else []


class DiesOnceToxicity(ToxicityScorer):
    """The toxicity model that SIGKILLs its process at its ``at``-th call while a marker file exists (removing it)."""

    def __init__(self, marker: str, at: int = 3, **kw) -> None:
        super().__init__(**kw)
        self.marker, self.at, self.calls = marker, at, [0]

    def score(self, texts):
        self.calls[0] += 1
        if self.calls[0] >= self.at and os.path.exists(self.marker):
            try:
                os.remove(self.marker)  # only the first worker to get here dies
            except FileNotFoundError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().score(texts)


class DiesOnceFactory:
    """A picklable factory for Ray actors: each actor builds its own model."""

    def __init__(self, marker: str, at: int = 3) -> None:
        self.marker, self.at = marker, at

    def __call__(self, **settings):
        return DiesOnceToxicity(self.marker, self.at, **settings)
