"""Helpers shared by the benchmarks: the machine's description, peak memory, table writing."""

from __future__ import annotations

import csv
import os
import platform
import resource
import time
from pathlib import Path


def machine() -> str:
    """One line naming the machine the numbers came from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def write_table(rows: list[dict], out: Path, name: str, title: str, notes: str = "") -> None:
    """Write ``out/name.csv`` and ``out/name.md`` (with the machine and any notes)."""
    if not rows:
        return
    cols = list(dict.fromkeys(c for r in rows for c in r))  # rows may differ (e.g. removal curves of fewer parts)
    with open(out / f"{name}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, restval="")
        w.writeheader()
        w.writerows(rows)

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = [f"# {title}", "", f"Machine: {machine()}", ""]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    if notes:
        lines += ["", notes]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
