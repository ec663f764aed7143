"""The output folder of a dataset run, written so that a process killed at any moment loses nothing finished.

Layout::

    OUT/run.json             the run's settings (a rerun with other settings is refused)
    OUT/index.jsonl          one line per finished record: id, status, faithfulness, queries, seconds, top terms
    OUT/records/NAME.json    one result per record (``Interactions.to_json``)
    OUT/cache/NAME.sqlite    one answer cache per record (the query engine's SQLite file)

Every file is written to a temporary name in the same folder and moved into place with
``os.replace`` (atomic on POSIX), and a record's index line is appended only after its result
file is in place. So after a SIGKILL the folder holds complete results, complete index lines
(at most a torn last line, which readers skip), and the model answers committed so far; a rerun
trusts a result file even when its index line is missing and appends the line from the file.
Writes survive a killed process, not a power cut (no fsync, like the cache's WAL mode).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

INDEX = "index.jsonl"
SETTINGS = "run.json"
RECORDS = "records"
CACHE = "cache"
REPORTS = "reports"
SUMMARY = "summary.html"
SCHEMA = "spectrex.run/1"

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def safe_name(record_id: str) -> str:
    """A file name for a record id: the id itself when it is plain, else a slug plus a hash of the id."""
    if _SAFE.fullmatch(record_id) and not record_id.endswith("."):
        return record_id
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", record_id).strip("._-")[:40] or "record"
    return f"{slug}-{hashlib.sha256(record_id.encode('utf-8')).hexdigest()[:12]}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace`` (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


class RunStore:
    """One run's output folder.

    Parameters
    ----------
    root : str or Path
        The folder (created if missing).
    clean : bool, default False
        Remove temporary files left by writers that were killed (only the run's driver does this,
        before any worker starts: a worker must not remove another worker's file in flight).
    """

    def __init__(self, root, clean: bool = False) -> None:
        self.root = Path(root).expanduser()
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is a file; pass a folder for the results (created if missing)")
        for sub in (RECORDS, CACHE):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if clean:
            for stale in [*self.root.glob(f"{RECORDS}/.*.tmp-*"), *self.root.glob(".*.tmp-*")]:
                stale.unlink(missing_ok=True)

    # -- paths -----------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.root / INDEX

    def result_path(self, record_id: str) -> Path:
        return self.root / RECORDS / f"{safe_name(record_id)}.json"

    def cache_path(self, record_id: str) -> Path:
        return self.root / CACHE / f"{safe_name(record_id)}.sqlite"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # -- settings --------------------------------------------------------------------------
    def check_settings(self, settings: dict[str, Any]) -> None:
        """Record the run's settings, or refuse to continue a run made with other settings."""
        path = self.root / SETTINGS
        doc = {"schema": SCHEMA, "settings": settings}
        if path.exists():
            try:
                old = json.loads(path.read_text(encoding="utf-8")).get("settings", {})
            except (OSError, ValueError):
                old = None
            if old is not None and old != settings:
                diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
                shown = "; ".join(f"{k}: {old.get(k)!r} then, {settings.get(k)!r} now" for k in diff[:6])
                raise ValueError(
                    f"{self.root} holds a run made with other settings ({shown}). Its finished results would "
                    "not match this run's: use another output folder, or the same settings to resume it"
                )
        write_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n")

    def settings(self) -> dict[str, Any]:
        path = self.root / SETTINGS
        return json.loads(path.read_text(encoding="utf-8")).get("settings", {}) if path.exists() else {}

    # -- the index -------------------------------------------------------------------------
    def read_index(self) -> dict[str, dict]:
        """The latest line of each record id (torn or foreign lines are skipped)."""
        return read_index(self.index_path)

    def append(self, entry: dict) -> None:
        """Append one index line (after the record's result file is in place)."""
        line = json.dumps(entry, ensure_ascii=False, allow_nan=False, default=_plain) + "\n"
        path = self.index_path
        with open(path, "a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell():  # a torn last line from a killed run: start on a fresh line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(line.encode("utf-8"))

    def compact(self, order: list[str]) -> None:
        """Rewrite the index with one line per record, in input order (atomically)."""
        latest = self.read_index()
        pos = {rid: i for i, rid in enumerate(order)}
        ids = sorted(latest, key=lambda r: (pos.get(r, len(pos)), r))
        text = "".join(json.dumps(latest[r], ensure_ascii=False, default=_plain) + "\n" for r in ids)
        write_atomic(self.index_path, text)


def read_index(path: Path) -> dict[str, dict]:
    """``{id: entry}`` from an ``index.jsonl`` (the last line of an id wins; unreadable lines are skipped)."""
    out: dict[str, dict] = {}
    if not Path(path).exists():
        return out
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            except RecursionError:
                continue
            entry = clean_entry(entry)
            if entry is not None:
                out[entry["id"]] = entry
    return out


#: an index line's fields and the types they may hold (anything else is dropped when read)
_NUMBERS = ("n", "position", "value", "faithfulness", "queries", "queries_sent", "queries_cached", "seconds",
            "model_seconds", "algorithm_seconds")  # fmt: skip
_TEXTS = ("reason", "file", "digest", "method", "index")
STATUSES = ("ok", "invalid", "error")


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def clean_entry(entry) -> dict | None:
    """An index line with every field of the type the summaries and the viewer read, or None without an id.

    The index is a file anyone can edit (or a crash can cut): a field of the wrong type is dropped, a
    status that is not one of :data:`STATUSES` reads as ``"error"`` with the reason, and a ``top`` list
    keeps only well-formed interactions — so a crafted line can never fail ``summarize`` or the viewer.
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
        return None
    out = {"id": entry["id"]}
    status = entry.get("status")
    if status in STATUSES:
        out["status"] = status
    else:
        out["status"] = "error"
        out["reason"] = f"the index line's status {str(status)[:40]!r} is not one of {', '.join(STATUSES)}"
    for key in _NUMBERS:  # None stays None (e.g. no faithfulness claimed for an exact result)
        if key in entry and (entry[key] is None or _number(entry[key])):
            out[key] = entry[key]
    for key in _TEXTS:
        if key in entry and (entry[key] is None or isinstance(entry[key], str)) and key not in out:
            out[key] = entry[key]
    target = entry.get("target")
    if "target" in entry and (target is None or isinstance(target, (str, int)) and not isinstance(target, bool)):
        out["target"] = target
    label = entry.get("label")
    if label is None or isinstance(label, (str, int, float, bool)):
        if "label" in entry:
            out["label"] = label
    share = entry.get("order_share")
    if isinstance(share, dict):
        out["order_share"] = {k: v for k, v in share.items() if isinstance(k, str) and (_number(v) or v is None)}
    if isinstance(entry.get("top"), list):
        out["top"] = _clean_top(entry["top"])
    outputs = entry.get("outputs")  # a record of several outputs (per token, every label)
    if isinstance(outputs, list):
        out["outputs"] = [
            {
                "name": o["name"],
                **{k: o.get(k) for k in ("value", "faithfulness") if o.get(k) is None or _number(o.get(k))},
                "top": _clean_top(o["top"]) if isinstance(o.get("top"), list) else [],
            }
            for o in outputs
            if isinstance(o, dict) and isinstance(o.get("name"), str)
        ]
    return out


def _clean_top(top: list) -> list[dict]:
    """The well-formed interactions of an index line's ``top`` list."""
    return [
        {"parts": t["parts"], "at": t.get("at") if _ints(t.get("at")) else [], "value": t.get("value")}
        for t in top
        if isinstance(t, dict)
        and isinstance(t.get("parts"), list)
        and all(isinstance(p, str) for p in t["parts"])
        and (t.get("value") is None or _number(t.get("value")))
    ]


def _ints(v) -> bool:
    return isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)


def _plain(obj):
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
