"""The engine's batch is the forward batch, and batch_size="auto" keeps commits frequent whatever the model's speed."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import spectrex
from spectrex.engine import QueryCache, QueryEngine
from spectrex.engine import query as query_module

SRC = str(Path(spectrex.__file__).resolve().parents[1])


class Timed:
    """Takes ``per_row`` seconds a row (a fake clock: no sleeping) and records batch sizes."""

    fingerprint = "timed"

    def __init__(self, per_row, clock):
        self.per_row, self.clock, self.sizes = per_row, clock, []

    def __call__(self, masks):
        self.sizes.append(len(masks))
        self.clock[0] += self.per_row * len(masks)
        return masks.sum(1).astype(float)


@pytest.mark.parametrize(("per_row", "settles"), [(1e-5, 256), (0.05, 32), (0.4, 8)])
def test_auto_batches_grow_while_quick_and_shrink_when_slow(monkeypatch, per_row, settles):
    clock = [0.0]
    monkeypatch.setattr(query_module.time, "perf_counter", lambda: clock[0])
    f = Timed(per_row, clock)
    QueryEngine().bind(f, 12)(np.random.default_rng(0).random((3000, 12)) < 0.5)
    assert f.sizes[0] == 8  # starts small: the first answers reach the cache at once
    steady = f.sizes[len(f.sizes) // 2 : -1]
    assert set(steady) == {settles}, f.sizes  # 256: the cap; else the size whose batch takes 1-4 s
    assert all(s * per_row <= 4.0 or s == 8 for s in f.sizes)


def test_text_models_run_one_forward_pass_per_engine_batch():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from spectrex.models.hf import CausalLMScorer
    from spectrex.models.tiny import tiny_causal_lm
    from spectrex.parts import split_text

    model, tok = tiny_causal_lm(seed=3)
    sizes = []
    orig = model.forward

    def forward(*a, **kw):
        sizes.append(int(kw["input_ids"].shape[0]))
        if sizes[-1] > 12:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return orig(*a, **kw)

    model.forward = forward
    vf = CausalLMScorer(model, tok, target=" ab").value_function(
        split_text("one two three four five six seven", "words")
    )
    masks = np.random.default_rng(1).random((100, 7)) < 0.5
    uniq = len({m.tobytes() for m in masks})
    engine = QueryEngine(batch_size=40)
    engine.bind(vf, 7)(masks)
    ok = [s for s in sizes if s <= 12]
    assert sizes[0] == 40  # the engine's batch reaches the model as one forward pass
    assert sum(ok) == uniq and max(ok) <= 12  # the engine's out-of-memory halving acts on the forward pass


CHILD = textwrap.dedent(
    """
    import signal
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started from a background job
    import sys, time
    import numpy as np
    from spectrex.engine import QueryEngine

    cache, log = sys.argv[1], sys.argv[2]

    class Slow:
        fingerprint = "slow-rows"

        def __call__(self, masks):
            time.sleep(0.02 * len(masks))  # a slow model: 0.02 s a row
            with open(log, "a") as fh:
                fh.write("%d\\n" % len(masks))
            return masks.sum(1).astype(float)

    masks = np.random.default_rng(0).random((800, 20)) < 0.5
    engine = QueryEngine(cache=cache)  # batch_size="auto", the in-process back-end
    q = engine.bind(Slow(), 20)
    print("ready", flush=True)
    try:
        q(masks)
        print("sent", q.stats.sent, flush=True)
    except KeyboardInterrupt:
        print("stored", engine.stored_answers, flush=True)
        sys.exit(130)
    """
)


def test_ctrl_c_keeps_what_was_received_and_the_resumed_run_resends_none_of_it(tmp_path):
    cache, log = tmp_path / "c.db", tmp_path / "rows.txt"
    env = {**os.environ, "PYTHONPATH": SRC}
    cmd = [sys.executable, "-c", CHILD, str(cache), str(log)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while (not log.exists() or sum(map(int, log.read_text().split())) < 150) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    answered = sum(map(int, log.read_text().split()))
    with QueryCache(cache) as c:
        stored = c.count()
    assert stored >= 0.9 * answered and f"stored {stored}" in out
    log.unlink()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    unique = len({m.tobytes() for m in np.random.default_rng(0).random((800, 20)) < 0.5})
    assert f"sent {unique - stored}" in done.stdout  # the stored answers are not asked again
    assert json.dumps(sum(map(int, log.read_text().split()))) == str(unique - stored)
