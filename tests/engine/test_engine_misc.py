"""Progress bar, GPU batch sizing, CLI --cache and metadata."""

import io
import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import spectrex
from spectrex.cli import main
from spectrex.engine import QueryEngine
from spectrex.engine.progress import Progress
from spectrex.synthetic import planted


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_bar_only_on_a_terminal(monkeypatch):
    fn = lambda m: m.sum(1).astype(float)  # noqa: E731
    masks = np.unique(np.random.default_rng(0).random((500, 9)) < 0.5, axis=0)
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    q = QueryEngine(batch_size=32, progress=True).bind(fn, 9)
    q(masks)
    q.close()
    shown = tty.getvalue()
    assert "queries" in shown and "q/s" in shown and f"{len(masks)}/{len(masks)}" in shown
    quiet = FakeTTY()
    monkeypatch.setattr(sys, "stderr", quiet)
    q = QueryEngine(batch_size=32, progress=False).bind(fn, 9)
    q(masks)
    q.close()
    assert quiet.getvalue() == ""
    # not a terminal: never a bar, even when asked
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    p = Progress(True)
    p.expect(10_000)
    assert p._bar is None


def test_auto_batch_starts_large_on_a_gpu(monkeypatch):
    fake_torch = SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: True, empty_cache=lambda: None))
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    assert QueryEngine().resolve_batch_size() == 1024
    assert QueryEngine(max_batch_size=4096).resolve_batch_size() == 4096
    assert QueryEngine(batch_size=64).resolve_batch_size() == 64
    assert QueryEngine(backend="threads").resolve_batch_size() == 8  # remote models: no GPU sizing
    assert QueryEngine(backend="threads").auto_limit() == 256 and QueryEngine().auto_limit() == 1024


def test_cli_cache_flag(tmp_path, capsys):
    path = tmp_path / "demo.db"
    assert main(["demo", "--n", "6", "--k", "4", "--cache", str(path), "--batch-size", "8"]) == 0
    first = capsys.readouterr().out
    assert "64 queries" in first and path.exists()
    assert main(["demo", "--n", "6", "--k", "4", "--cache", str(path)]) == 0
    assert "0 queries (+64 cached)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:  # refused while parsing, before any query
        main(["demo", "--n", "6", "--batch-size", "many"])
    assert stop.value.code == 2 and "--batch-size" in capsys.readouterr().err


def test_metadata_is_json_friendly(tmp_path):
    f = planted(6, 4, 2, 0)
    r = spectrex.explain(f, 6, method="exact", cache=tmp_path / "m.db", cache_key="planted-6")
    meta = json.loads(r.to_json())["metadata"]
    assert meta["queries"] == 64 and meta["queries_cached"] == 0 and meta["queries_dropped"] == 0
    assert meta["engine"]["backend"] == "local" and meta["engine"]["batch_size"] == "auto"
    assert 8 < meta["engine"]["largest_batch"] <= 256  # grown from 8 while batches were quick
