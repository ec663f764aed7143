"""Ctrl-C keeps the answers by default: the same command, with no flag, resumes without re-sending any of them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from spectrex.parts.text import split_text
from spectrex.transforms import bitset

sys.path.insert(0, str(Path(__file__).parent / "models"))
from openai_mimic import MimicServer  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")
TEXT = "the cast was wonderful but its plot felt slow and every ending fell flat"  # unique words: one text per mask
TEMPLATE = "Review: {text}\nSentiment:"
TARGET = " positive"
CLI = "import sys; from spectrex.cli import main; sys.exit(main())"  # the `spectrex` command of this source tree


def _kept_masks(folder: Path, n: int) -> np.ndarray:
    files = list(folder.glob("*.sqlite"))
    assert len(files) == 1, f"one answer file per value function, got {files}"
    con = sqlite3.connect(files[0])
    try:
        rows = con.execute("SELECT mask FROM queries").fetchall()
    finally:
        con.close()
    bits = np.frombuffer(b"".join(r[0] for r in rows), dtype="<u8").reshape(len(rows), -1)
    return bitset.unpack(bits, n)


def test_ctrl_c_then_the_same_command_sends_no_kept_answer_again(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    env["SPECTREX_CACHE"] = str(tmp_path / "cache")
    server = MimicServer(delay_s=0.02)
    with server as url:
        cmd = [sys.executable, "-c", CLI, "explain", TEXT, "--model", f"openai:{url}",
               "--template", TEMPLATE, "--target", TARGET, "--budget", "400", "--batch-size", "8"]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and server.completion_requests() < 120:
                time.sleep(0.02)
            assert proc.poll() is None, f"the run ended before Ctrl-C: {proc.communicate()[0][-2000:]}"
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, out[-2000:]
        parts = split_text(TEXT, "words")
        kept = _kept_masks(tmp_path / "cache" / "answers", parts.n)
        assert 0 < len(kept) < 400, "Ctrl-C must land mid-run, after some answers were kept"
        assert f"interrupted: {len(kept):,} answers kept in" in out and "run the same command again" in out, out
        kept_prompts = {TEMPLATE.format(text=parts.render(m)) + TARGET for m in kept}
        assert len(kept_prompts) == len(kept)  # one prompt per mask: a prompt seen again is a mask asked again

        first = len(server.requests)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        resent = [r["prompt"] for r in server.requests[first:] if r.get("prompt") in kept_prompts]
        assert resent == [], f"{len(resent)} kept answers were asked again, e.g. {resent[:2]}"
        assert "cached)" in done.stdout, done.stdout[-1500:]  # the cost line counts the answers served from disk
        assert f"{len(kept):,} answers kept from an earlier run are used" in done.stderr, done.stderr[-1500:]
