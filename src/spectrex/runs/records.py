"""Records in: a JSONL or CSV file, or any iterable of dicts (or plain strings), checked one by one.

A record is one input to explain:

``text``
    A string, cut into parts (words by default).
``documents`` (+ optional ``question``)
    A list of at least two strings, one part each; ``question`` fills ``{question}`` in the prompt.
``image``
    A path to an image file (patches are the parts; needs an image model).

and, optionally, ``id`` (default: the record's position, counted from 0), ``target`` and
``contrast`` (what is explained for this record; default: the run's), and ``label`` (kept in the
index, e.g. a gold class, for grouping later). Other fields are kept and ignored.

A record that cannot be explained — a line that is not JSON, a missing or empty field, a
repeated id — is not an error of the run: it comes out as a :class:`Record` with a ``problem``,
which the run reports in the index (status ``"invalid"``) before going on with the next one.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the fields that say what is explained; exactly one kind per record
KINDS = ("text", "documents", "image")
#: optional fields with a meaning
OPTIONAL = ("id", "target", "contrast", "label", "question")
#: the longest id kept verbatim (longer ones are refused: they would not make readable file names)
MAX_ID_CHARS = 200


@dataclass
class Record:
    """One input of a dataset run.

    Attributes
    ----------
    position : int
        Index of the record in the input, from 0 (blank lines of a JSONL file are not counted).
    id : str
        The record's own id, or its position as a string.
    kind : str or None
        ``"text"``, ``"documents"`` or ``"image"`` (None for a record with a problem).
    data : dict
        The record's fields as read.
    problem : str or None
        Why this record cannot be explained (None when it can be tried).
    """

    position: int
    id: str
    kind: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    @property
    def digest(self) -> str:
        """A hash of the record's fields: a rerun explains a record again when its fields changed."""
        blob = json.dumps(self.data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    @property
    def text(self):
        """What is cut into parts: the text, the list of documents, or the image path."""
        return self.data.get(self.kind) if self.kind else None


def read_records(source) -> list[Record]:
    """Read and check every record of ``source``.

    Parameters
    ----------
    source : str, Path or iterable
        A ``.jsonl`` / ``.ndjson`` file (one JSON object per line), a ``.json`` file holding a list,
        a ``.csv`` file with a header row, or an iterable of dicts or strings (a string is a ``text``).

    Returns
    -------
    list of Record
        In input order; records that cannot be explained carry a ``problem``.
    """
    if isinstance(source, (str, Path)):
        raw = _read_file(Path(source))
    elif isinstance(source, dict):
        raise TypeError("records must be an iterable of records (dicts or strings), not one dict; wrap it in a list")
    elif isinstance(source, Iterable):
        raw = ((None, item) for item in source)
    else:
        raise TypeError(f"records must be a file path or an iterable of dicts/strings, got {type(source).__name__}")
    out: list[Record] = []
    seen: dict[str, int] = {}
    for position, (error, item) in enumerate(raw):
        rec = _check(position, error, item)
        first = seen.get(rec.id)
        if first is not None:
            # the first record keeps the id; this one gets a key of its own so that its line in
            # the index does not replace the first one's
            rec = Record(
                position, f"{rec.id}@{position}", None, rec.data, f"duplicate id {rec.id!r} (first at record {first})"
            )
        else:
            seen[rec.id] = position
        out.append(rec)
    return out


#: bytes read to tell a binary file from text (a NUL byte in them: not a records file)
SNIFF_BYTES = 64 * 1024


def _check_text_file(path: Path) -> None:
    """Refuse a file that is not UTF-8 text before reading any record (one clear error, not a record per line)."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if b"\x00" in head:
        raise ValueError(
            f"{path} is a binary file (it holds NUL bytes), not a text records file; pass a .jsonl (one JSON "
            "object per line) or .csv file saved as UTF-8 text"
        )


def _not_utf8(path: Path, exc: UnicodeDecodeError, line: int | None = None) -> ValueError:
    where = f" on line {line}" if line is not None else ""
    return ValueError(
        f"{path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x}{where} cannot be decoded (a latin-1 or "
        f"Windows-1252 file?); save it again as UTF-8: use `iconv -f latin1 -t utf-8 {path.name} > utf8-{path.name}`"
    )


def _read_file(path: Path) -> Iterator[tuple[str | None, Any]]:
    if not path.exists():
        raise FileNotFoundError(f"no records file at {path}; pass a .jsonl or .csv file of records")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; pass a .jsonl or .csv file of records")
    if not path.is_file():  # a pipe or a device: reading it could wait forever or never end
        raise ValueError(f"{path} is not a regular file (a pipe or a device); pass a .jsonl or .csv file of records")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".jsonlines", ".json", ".csv"):
        raise ValueError(f"cannot read records from {path.name}: use a .jsonl (one JSON object per line) or .csv file")
    _check_text_file(path)
    if suffix in (".jsonl", ".ndjson", ".jsonlines"):
        return _jsonl(path)
    if suffix == ".json":
        try:
            # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the first record
            doc = json.loads(path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc) from None
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path} is not valid JSON ({exc}); give a .json file holding a list of records, or a .jsonl file "
                "with one record per line"
            ) from None
        except RecursionError:
            raise ValueError(f"{path} nests its JSON too deeply; give a .json file holding a list of records") from None
        if not isinstance(doc, list):
            raise ValueError(f"{path} holds one JSON {type(doc).__name__}; give a .json file holding a list of records")
        return ((None, item) for item in doc)
    return _csv(path)


def _jsonl(path: Path) -> Iterator[tuple[str | None, Any]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                # a byte-order mark starts the first line only (utf-8-sig drops it there)
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, exc, lineno) from None
            if not line.strip():
                continue
            try:
                yield None, json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield f"line {lineno} is not valid JSON ({exc.msg} at column {exc.colno})", None
            except RecursionError:
                yield f"line {lineno} nests its JSON too deeply to be a record", None


def _csv(path: Path) -> Iterator[tuple[str | None, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        try:
            yield from _csv_rows(path, fh)
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc) from None


def _csv_rows(path: Path, fh) -> Iterator[tuple[str | None, Any]]:
    reader = csv.DictReader(fh)
    if reader.fieldnames is None or not set(KINDS) & set(reader.fieldnames):
        raise ValueError(f"{path} needs a header row with a 'text' (or 'image') column")
    for cells in reader:
        row = {k: v for k, v in cells.items() if k is not None and v not in (None, "")}
        if not set(KINDS) & set(row):  # a blank text cell is an empty text (not a record without a text column)
            blank = next((k for k in KINDS if k in cells), None)
            if blank is not None:
                row[blank] = ""
        if isinstance(row.get("documents"), str):  # documents as a JSON list in one cell
            try:
                row["documents"] = json.loads(row["documents"])
            except (json.JSONDecodeError, RecursionError):
                pass
        yield None, row


def _check(position: int, error: str | None, item: Any) -> Record:
    """One record, with the reason it cannot be explained when there is one."""
    if error is not None:
        return Record(position, str(position), problem=error)
    if isinstance(item, str):
        item = {"text": item}
    if not isinstance(item, dict):
        return Record(position, str(position), problem=f"a record is a JSON object, got {type(item).__name__}")
    rid = item.get("id", position)
    if isinstance(rid, bool) or not isinstance(rid, (str, int)) or (isinstance(rid, str) and not rid.strip()):
        return Record(
            position, str(position), data=item, problem=f"the id must be a non-empty string or an integer, got {rid!r}"
        )
    rid = str(rid)
    if len(rid) > MAX_ID_CHARS:
        return Record(
            position, str(position), data=item, problem=f"the id is {len(rid)} characters (at most {MAX_ID_CHARS})"
        )
    kinds = [k for k in KINDS if k in item]
    if not kinds:
        return Record(position, rid, data=item, problem="no 'text', 'documents' or 'image' field: nothing to explain")
    if len(kinds) > 1:
        return Record(
            position, rid, data=item, problem=f"give one of 'text', 'documents' or 'image', not {' and '.join(kinds)}"
        )
    kind = kinds[0]
    value = item[kind]
    problem = None
    if kind == "text":
        if not isinstance(value, str):
            problem = f"'text' must be a string, got {type(value).__name__}"
        elif not value.strip():
            problem = "the text is empty"
    elif kind == "documents":
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            problem = "'documents' must be a list of strings"
        elif sum(bool(d.strip()) for d in value) < 2:
            problem = "fewer than two non-empty documents: nothing to interact"
    elif not isinstance(value, str) or not value.strip():
        problem = "'image' must be the path of an image file"
    for key in ("target", "contrast", "question"):
        if problem is None and key in item and item[key] is not None and not isinstance(item[key], (str, int)):
            problem = f"'{key}' must be a string, got {type(item[key]).__name__}"
    if problem is None and "question" in item and kind != "documents":
        problem = "'question' goes with 'documents' (put it in the text, or give the text as documents)"
    return Record(position, rid, kind if problem is None else None, item, problem)
