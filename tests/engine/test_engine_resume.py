"""A run killed with SIGKILL mid-way and started again re-queries nothing stored and gives the same result."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

import spectrex
from spectrex.synthetic import planted
from spectrex.transforms import bitset

SRC = str(Path(spectrex.__file__).resolve().parents[1])
N = 10

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import spectrex
    from spectrex.engine import QueryEngine
    from spectrex.synthetic import planted

    cache, out = sys.argv[1], sys.argv[2]
    f = planted(10, 8, 3, 7)
    seen = []

    class SlowModel:
        fingerprint = "slow-planted(10,8,3,7)"

        def __call__(self, masks):
            time.sleep(0.03)  # slow enough to be killed mid-run
            seen.append(masks.copy())
            return f(masks)

    engine = QueryEngine(batch_size=16, cache=cache, progress=False)
    r = spectrex.explain(SlowModel(), 10, method="exact", engine=engine)
    np.savez(out, supports=r.transform.supports, coefs=r.transform.coefs,
             seen=np.vstack(seen) if seen else np.zeros((0, 10), bool))
    print(json.dumps({"queries": r.metadata["queries"], "cached": r.metadata["queries_cached"]}))
    """
)


def stored_masks(path):
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT mask FROM queries").fetchall()
    finally:
        con.close()
    bits = np.frombuffer(b"".join(r[0] for r in rows), dtype="<u8").reshape(len(rows), -1)
    return bitset.unpack(bits, N)


def test_sigkill_then_resume(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    cache = tmp_path / "run.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, str(script), str(cache), str(tmp_path / "first.npz")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if len(stored_masks(cache)) >= 256:
                    break
            except (sqlite3.Error, ValueError):
                pass  # not created yet
            time.sleep(0.02)
        assert proc.poll() is None, f"child finished before it could be killed: {proc.stderr.read().decode()}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = stored_masks(cache)
    assert 256 <= len(before) < 2**N, "the kill must land mid-run"

    cmd[-1] = str(tmp_path / "resumed.npz")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    resumed = np.load(tmp_path / "resumed.npz")
    # zero repeated queries: nothing stored before the kill reached the model again
    stored = {r.tobytes() for r in before}
    assert not any(r.tobytes() in stored for r in resumed["seen"])
    assert stats == {"queries": 2**N - len(before), "cached": len(before)}
    assert len(resumed["seen"]) == 2**N - len(before)

    # identical to an uninterrupted run
    f = planted(N, 8, 3, 7)
    ref = spectrex.explain(f, N, method="exact")
    np.testing.assert_array_equal(resumed["supports"], ref.transform.supports)
    np.testing.assert_array_equal(resumed["coefs"], ref.transform.coefs)
