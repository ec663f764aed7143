"""Early in a long run the engine says how long the rest will take, and what costs less."""

import numpy as np

from spectrex import QueryEngine
from spectrex.engine import progress as progress_mod


def f(masks):
    return masks.sum(axis=1).astype(float)


def test_time_left_is_said_once_after_the_first_batch(monkeypatch, capsys):
    monkeypatch.setattr(progress_mod, "ETA_MIN_S", 0.0)  # every run counts as long here
    engine = QueryEngine(batch_size=8, hint="--budget 32 halves it")
    masks = np.random.default_rng(0).random((64, 10)) < 0.5
    for _ in range(2):  # a second bind of the same engine (the held-out check) says nothing more
        query = engine.bind(f, 10)
        query.expect(64)
        query(masks)
        query.close()
    err = capsys.readouterr().err
    assert err.count("first 8 queries took") == 1, err
    assert "for the other" in err and "--budget 32 halves it" in err


def test_nothing_is_said_when_progress_is_off(monkeypatch, capsys):
    monkeypatch.setattr(progress_mod, "ETA_MIN_S", 0.0)
    engine = QueryEngine(batch_size=8, progress=False, hint="--budget 32")
    query = engine.bind(f, 10)
    query(np.ones((40, 10), bool) ^ (np.arange(40)[:, None] % 7 == np.arange(10)[None] % 7))
    query.close()
    assert "first" not in capsys.readouterr().err


def test_cli_says_the_plan_before_loading_and_the_flag_after_the_first_batch(monkeypatch, capsys):
    from spectrex.cli import main

    monkeypatch.setattr(progress_mod, "ETA_MIN_S", 0.0)
    rc = main(["explain", "one two three four five six seven eight nine ten eleven twelve", "--model", "toxicity",
               "--budget", "128", "--batch-size", "8", "--holdout", "16"])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0
    out, err = captured.out, captured.err
    assert "planned: 128 queries (proxyspex, 12 parts) + 16 held out" in out.replace("\n", " ")
    assert "first 8 queries took" in err and "--budget 64 halves" in err
    assert "kept from an earlier run" not in err  # the held-out check re-reads this run's answers: not "earlier"


def test_the_start_up_of_the_first_batch_is_not_taken_for_the_models_pace(monkeypatch, capsys):
    import time

    monkeypatch.setattr(progress_mod, "ETA_MIN_S", 2.0)
    calls = []

    def warming(masks):  # the first call pays a start-up (a kernel's compilation, a model's first pass)
        if not calls:
            time.sleep(1.0)
        calls.append(len(masks))
        return f(masks)

    query = QueryEngine(batch_size=8).bind(warming, 10)
    query.expect(640)
    query(np.random.default_rng(0).random((640, 10)) < 0.5)
    query.close()
    # from the first batch alone: 632 more queries at 8 per second, "about 1 min 19 s"; the run took ~1 s
    assert len(calls) > 2 and "for the other" not in capsys.readouterr().err
