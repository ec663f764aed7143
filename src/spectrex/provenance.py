"""How a result was made: one typed record, filled by the driver, carried by the JSON.

:class:`Provenance` is what ``Interactions.provenance`` holds: the method, its settings and seed,
the model queries (:class:`Counts`), the time spent (:class:`Timings`), what the value function
says about itself (:class:`Source`: model, target, template, the full input's value, …), the
decoder's diagnostics, the held-out check (:class:`Holdout`) and, for a record of a dataset run,
the record (:class:`RecordInfo`).

``Interactions.metadata`` is its read-only dict view, :meth:`Provenance.to_dict` — the flat keys
that every reader, every result file and 0.2.0 use (``"method"``, ``"queries"``, ``"full_value"``,
…) plus ``"provenance_schema"`` (:data:`SCHEMA_VERSION`). :meth:`Provenance.from_dict` reads it
back, also the unversioned dicts that 0.2.0 wrote (schema 1); keys it does not know are kept in
``extra`` and written back as they were, so a round trip loses nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ._version import __version__

#: 2: this record (0.3.0); 1: the plain metadata dict of 0.2.0, which has no version field
SCHEMA_VERSION = 2


def _kept(obj, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a dataclass that are set (not None), in declaration order."""
    fields = (f.name for f in dataclasses.fields(obj) if f.name not in skip)
    return {name: v for name in fields if (v := getattr(obj, name)) is not None}


@dataclass
class Counts:
    """The model queries of a run: ``sent`` to the model, ``cached`` (answered from memory or the cache),
    ``requested`` (rows asked for, duplicates included), ``dropped`` (failed twice, ``on_error="drop"``),
    ``planned`` (the design's rows)."""

    sent: int = 0
    cached: int = 0
    requested: int = 0
    dropped: int = 0
    planned: int | None = None


class _Open:
    """A part of the record that keeps the keys it does not type in ``extra``, written back as they were."""

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in d.items() if k in known}, extra={k: v for k, v in d.items() if k not in known})


@dataclass
class Timings(_Open):
    """Seconds: the driver's ``total_s`` (its ``model_s`` waiting on the model, the rest ``algorithm_s``),
    the held-out check's ``holdout_s``, the whole explanation's ``wall_s`` and the model's ``load_s``."""

    total_s: float | None = None
    model_s: float | None = None
    algorithm_s: float | None = None
    holdout_s: float | None = None
    wall_s: float | None = None
    load_s: float | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**_kept(self, ("extra",)), **self.extra}


@dataclass
class Source:
    """What the value function says about itself (:meth:`describe`), and the full input's value.

    ``quantity`` is what the number means (``'log P(" positive" | text)'``); ``full_value`` the
    model's value on the whole input (not the surrogate's); the text fields say how the input was
    cut and hidden. Fields that are None are not shown or written.
    """

    model: str | None = None
    target: Any = None
    target_class: int | None = None
    fingerprint: str | None = None
    contrast: str | None = None
    template: str | None = None
    chat: bool | None = None
    system: str | None = None
    parts: str | None = None
    masking: str | None = None
    full_value: float | None = None
    input: str | None = None
    title: str | None = None


@dataclass
class Holdout:
    """The held-out check: R² of the explanation on ``queries`` fresh uniform random masks."""

    r2: float | None
    queries: int


@dataclass
class RecordInfo(_Open):
    """The dataset record a result explains (:mod:`spectrex.runs`).

    ``extra`` holds the record's own fields shown with it (``label``, ``question``) exactly as the record
    had them — a ``label`` of None included — and any key this version does not know.
    """

    id: str | None = None
    position: int | None = None
    kind: str | None = None
    stored_answers_at_start: int | None = None
    digest: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # the order of 0.2.0's files: who the record is, its own fields, then what the run knew of it
        head = _kept(self, ("stored_answers_at_start", "digest", "extra"))
        return {**head, **self.extra, **_kept(self, ("id", "position", "kind", "extra"))}


#: the flat keys of :meth:`Provenance.to_dict` that belong to each typed part
_COUNT_KEYS = {"queries": "sent", "queries_cached": "cached", "queries_requested": "requested",
               "queries_dropped": "dropped", "queries_planned": "planned"}  # fmt: skip
_SOURCE_KEYS = tuple(f.name for f in dataclasses.fields(Source))


@dataclass
class Provenance:
    """How one explanation was made (see the module's docstring).

    ``exhaustive`` is True when every one of the ``2^n`` masks was queried and the result reproduces
    the model on each (an exact result: there is nothing to hold out). The fields are typed; the
    driver fills them, the held-out check adds itself (:meth:`add_holdout`), and a dataset run
    stamps its record.
    """

    method: str | None = None
    budget: int | None = None
    counts: Counts | None = None
    engine: dict[str, Any] | None = None
    seed: int | None = None
    settings: dict[str, Any] | None = None
    timings: Timings = field(default_factory=Timings)
    quantity: str | None = None
    output: str | None = None
    diagnostics: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    holdout: Holdout | None = None
    source: Source | None = None
    record: RecordInfo | None = None
    #: every mask queried and reproduced (None: not said — 0.2.0 files; :attr:`every_mask` reads the method)
    exhaustive: bool | None = None
    version: str = __version__
    schema: int = SCHEMA_VERSION
    #: keys this version does not know (from a newer file, or added by hand), written back as they were
    extra: dict[str, Any] = field(default_factory=dict)

    # -- what the held-out check and a dataset run add ------------------------------------------
    def add_holdout(self, r2: float | None, queries: int, seconds: float, note: str | None = None) -> None:
        """Record the held-out check (its R², masks and time; ``note`` when the fit is too weak to trust)."""
        self.holdout = Holdout(r2, int(queries))
        self.timings.holdout_s = seconds
        if note:
            self.notes.append(note)

    @property
    def faithfulness(self) -> float | None:
        """The held-out R² (None: not measured)."""
        return None if self.holdout is None else self.holdout.r2

    # -- the flat view ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The flat dict every reader and result file uses (0.2.0's keys, plus ``provenance_schema``)."""
        out: dict[str, Any] = {"version": self.version}
        head = {"method": self.method, "budget": self.budget}
        out.update({k: v for k, v in head.items() if v is not None or k == "budget" and self.counts is not None})
        if self.counts is not None:
            c = self.counts
            out.update({k: getattr(c, a) for k, a in _COUNT_KEYS.items() if getattr(c, a) is not None})
        if self.engine is not None:
            out["engine"] = self.engine
        if self.counts is not None or self.seed is not None:
            out["seed"] = self.seed
        if self.settings is not None:
            out["settings"] = self.settings
        timings = self.timings.to_dict()
        if timings:
            out["timings"] = timings
        for key in ("quantity", "output", "diagnostics"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.notes:
            out["notes"] = list(self.notes)
        if self.holdout is not None:
            out["faithfulness"] = self.holdout.r2
            out["holdout_queries"] = self.holdout.queries
        if self.source is not None:
            src = _kept(self.source)
            src.setdefault("target", None)  # a text result always says what it scored (None: the model's own)
            out.update(src)
        if self.record is not None:
            out["record"] = self.record.to_dict()
        if self.exhaustive is not None:
            out["exhaustive"] = self.exhaustive
        out.update(self.extra)
        out["provenance_schema"] = self.schema
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Provenance:
        """Read :meth:`to_dict`'s output back, or the unversioned metadata dict of a 0.2.0 file."""
        d = dict(d or {})
        p = cls(version=str(d.pop("version", __version__)), schema=int(d.pop("provenance_schema", 1) or 1))
        p.method, p.budget = d.pop("method", None), d.pop("budget", None)
        counts = {a: d.pop(k) for k, a in _COUNT_KEYS.items() if k in d}
        if counts:
            p.counts = Counts(**counts)
        p.engine, p.seed, p.settings = d.pop("engine", None), d.pop("seed", None), d.pop("settings", None)
        timings = d.pop("timings", None)
        if isinstance(timings, dict):
            p.timings = Timings.from_dict(timings)
        p.quantity, p.output, p.diagnostics = d.pop("quantity", None), d.pop("output", None), d.pop("diagnostics", None)
        notes = d.pop("notes", None)
        p.notes = list(notes) if isinstance(notes, list) else []
        if "faithfulness" in d or "holdout_queries" in d:
            p.holdout = Holdout(d.pop("faithfulness", None), d.pop("holdout_queries", 0))
        source = {k: d.pop(k) for k in _SOURCE_KEYS if k in d}
        if source:
            p.source = Source(**source)
        record = d.pop("record", None)
        if isinstance(record, dict):
            p.record = RecordInfo.from_dict(record)
        p.exhaustive = d.pop("exhaustive", None)
        p.extra = d
        return p

    @property
    def every_mask(self) -> bool:
        """Whether every mask was queried and is reproduced (0.2.0 files, which do not say: when exact)."""
        return bool(self.exhaustive) if self.exhaustive is not None else self.method == "exact"
