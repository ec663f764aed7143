"""Ctrl-C after 30 s of a 500-query CPU Gemma run keeps the received answers; the resumed run re-sends none.

Runs ``spectrex explain`` (sentiment review, ``--cache``) in a child process whose scorer logs every
row it answers, sends SIGINT after ``--after`` seconds, counts the cache, then runs the same command
again and counts what it asks the model. Prints the figures with the load average::

    OMP_NUM_THREADS=1 python -m benchmarks.interrupt_resume --after 30
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REVIEW = (
    "I went in expecting very little. The plot was thin, the pacing was slow for the whole first hour, and the "
    "villain never made much sense to me. Still, the two leads are wonderful together: every scene they share "
    "feels alive, funny and warm, and the dialogue gives them room to breathe. The music is lovely, the city "
    "looks beautiful at night, and the final scene moved me far more than I expected. I would happily watch it again."
)

CHILD = textwrap.dedent(
    """
    import signal
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started from a background job
    import sys, time
    from spectrex.cli import main
    from spectrex.models import hf

    log = sys.argv[1]
    orig = hf.CausalLMScorer.score

    def score(self, texts):
        out = orig(self, texts)
        with open(log, "a") as fh:  # rows the model answered (before the engine stores them)
            fh.write(f"{len(texts)} {time.time():.3f}\\n")
        return out

    hf.CausalLMScorer.score = score
    sys.exit(main(sys.argv[2:]))
    """
)


def _answered(log: Path) -> int:
    return sum(int(line.split()[0]) for line in log.read_text().splitlines()) if log.exists() else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--after", type=float, default=30.0)
    ap.add_argument("--budget", type=int, default=500)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spectrex-interrupt-"))
    cache, log = tmp / "answers.sqlite", tmp / "rows.txt"
    argv = [
        "explain", REVIEW, "--model", "gemma-3-270m", "--device", "cpu",
        "--template", "Review: {text}\nSentiment (positive or negative):",
        "--target", " positive", "--contrast", " negative",
        "--budget", str(args.budget), "--holdout", "0", "--cache", str(cache), "--no-progress",
    ]  # fmt: skip
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    t0, c0 = time.time(), os.times()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(log), *argv], env=env, stdout=subprocess.PIPE, text=True)
    while not log.exists() and proc.poll() is None:  # count from the first answer (the model is loaded)
        time.sleep(0.1)
    first = time.time()
    time.sleep(max(0.0, args.after - (time.time() - first)))
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=600)
    if proc.returncode != 130:
        print(f"the run ended (rc {proc.returncode}) before the interrupt; use a longer text or a smaller --after")
    answered = _answered(log) - 1  # the first row is explain_text's full-text check (not cached)
    stored = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM queries").fetchone()[0]
    print(f"interrupted after {time.time() - first:.1f} s of answers (rc {proc.returncode}); load {os.getloadavg()}")
    print(f"  answers received: {answered}, stored: {stored} ({100 * stored / max(answered, 1):.1f} %)")
    print("  message: " + " ".join(line.strip() for line in out.splitlines() if "interrupted" in line))
    log.unlink()
    t1 = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, str(log), *argv], env=env, capture_output=True, text=True)
    resent = _answered(log) - 1
    total = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM queries").fetchone()[0]
    print(f"resumed run: rc {done.returncode}, {time.time() - t1:.1f} s; sent {resent} new answers, cache now {total}")
    print(f"  re-sent stored answers: {resent + stored - total}; load {os.getloadavg()}")
    c1 = os.times()
    cpu = c1.children_user + c1.children_system - c0.children_user - c0.children_system
    print(f"wall {time.time() - t0:.1f} s, children CPU {cpu:.1f} s")
    print("  " + "\n  ".join(done.stdout.splitlines()[-4:]))


if __name__ == "__main__":
    main()
