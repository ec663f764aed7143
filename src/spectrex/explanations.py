"""`Explanations`: several outputs of one model explained from one set of queries.

A value function may return ``m`` floats per mask (the log-probability of each token of a generated
answer, each label of a classifier). One forward pass per mask gives them all, so every output is
explained from the same queries: one :class:`~spectrex.Interactions` per output, decoded from the
same masks with the same settings (each equals what a single-output run of that output would give),
plus, where the outputs add up to something (the tokens of one sequence), the explanation of their
sum — decoded from the summed answers, so it equals a single-output run of the whole sequence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .interactions import Interactions
from .provenance import Provenance
from .validate import is_whole

SCHEMA = "spectrex.explanations/1"
#: what each :class:`Interactions` holds as data (its methods and properties are found on the class)
_ONE_OUTPUT_DATA = frozenset({"transform", "supports", "values", "max_order", "std_errors", "sources", "residual"})


class Explanations(Sequence):
    """One :class:`Interactions` per output of a multi-output value function, all from the same queries.

    Parameters
    ----------
    items : list of Interactions
        One explanation per output, in the value function's output order.
    names : list of str
        The outputs' names (the generated tokens, the label names, or ``"0"``, ``"1"``, …).
    total : Interactions, optional
        The explanation of the outputs' sum (e.g. log P(whole answer)), when that sum means something.

    Examples
    --------
    >>> result = spectrex.explain(value_fn)          # value_fn returns (q, m) floats
    >>> result["Maria"].top(3)                       # one output, by name (or result[0])
    >>> result.matrix("SV")                           # (n parts, m outputs) Shapley values
    """

    def __init__(self, items: list[Interactions], names: list[str], total: Interactions | None = None) -> None:
        if len(items) != len(names) or not items:
            raise ValueError(f"got {len(items)} explanations for {len(names)} output names; pass one per output")
        n = {item.n for item in items} | ({total.n} if total is not None else set())
        if len(n) != 1:
            raise ValueError(f"the explanations cover different numbers of parts ({sorted(n)}); they must share them")
        self.items, self.names, self.total = list(items), [str(x) for x in names], total

    # -- a sequence of Interactions ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Interactions]:
        return iter(self.items)

    def __contains__(self, key) -> bool:
        """Whether an output has this name (or is this explanation)."""
        if isinstance(key, str):
            return key in self.names
        return any(item is key for item in self.items)

    def __getattr__(self, name: str):
        # only reached when the normal look-up fails: a method of one explanation asked of several
        if not name.startswith("_") and (hasattr(Interactions, name) or name in _ONE_OUTPUT_DATA):
            raise AttributeError(
                f"an Explanations holds one explanation per output; .{name} belongs to each of them: pick one "
                f"(result[0], result['name'], or result.total for the outputs' sum), e.g. result[0].{name}"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getitem__(self, key):
        """An output's explanation by position or by name (the first output of that name)."""
        if isinstance(key, slice):
            return Explanations(self.items[key], self.names[key])
        known = key in self.names if isinstance(key, str) else is_whole(key, -len(self.items), len(self.items) - 1)
        if known:
            return self.items[self.names.index(key) if isinstance(key, str) else key]
        shown = ", ".join(repr(x) for x in self.names[:12]) + (" …" if len(self.names) > 12 else "")
        if isinstance(key, str):
            raise KeyError(f"no output named {key!r}; the outputs are: {shown}")
        raise IndexError(  # list's own errors name no output
            f"an output is given by its name or its position, 0 to {len(self.items) - 1} (negative from the end), "
            f"got {key!r}; the outputs are: {shown}"
        )

    def all(self) -> list[Interactions]:
        """Every explanation held: the outputs', then the total's."""
        return self.items + ([self.total] if self.total is not None else [])

    @property
    def n(self) -> int:
        return self.items[0].n

    @property
    def labels(self) -> list[str]:
        return self.items[0].labels

    @property
    def metadata(self) -> Mapping[str, Any]:
        """What the outputs share (method, queries, timings…): the first output's metadata."""
        return self.items[0].metadata

    @property
    def provenance(self) -> Provenance:
        """The first output's :class:`~spectrex.provenance.Provenance` (the run's method, queries, …)."""
        return self.items[0].provenance

    # -- views ---------------------------------------------------------------------------------
    def to(self, index: str, max_order: int | None = None) -> Explanations:
        """Every output (and the total) re-expressed in another index."""
        total = self.total.to(index, max_order) if self.total is not None else None
        return Explanations([item.to(index, max_order) for item in self.items], self.names, total)

    def matrix(self, index: str = "SV") -> np.ndarray:
        """``(n, m)`` first-order values in ``index`` (SV or BV): parts × outputs, the heatmap's numbers."""
        return np.column_stack([item.to(index).first_order() for item in self.items])

    # -- I/O -----------------------------------------------------------------------------------
    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise losslessly: each output's result as :meth:`Interactions.to_json` writes it."""
        doc = {
            "schema": SCHEMA,
            "outputs": self.names,
            "items": [json.loads(item.to_json()) for item in self.items],
            "total": json.loads(self.total.to_json()) if self.total is not None else None,
        }
        text = json.dumps(doc, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, source: str | Path, max_bytes: int | None = None) -> Explanations:
        """Read what :meth:`to_json` wrote (a JSON string or a file path); the same bounds as
        :meth:`Interactions.from_json`, applied to the whole document and to each output."""
        from .interactions import parse_result, result_text

        text, where = result_text(source, max_bytes)
        return cls.from_dict(parse_result(text, where), where)

    @classmethod
    def from_dict(cls, doc, where: str = "the result") -> Explanations:
        """An :class:`Explanations` from the parsed document of :meth:`to_json` (``where`` names it in errors)."""
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(
                f"{where} is not a spectrex multi-output result (schema {SCHEMA!r}); a single-output result is read "
                "with Interactions.from_json"
            )
        names, items = doc.get("outputs"), doc.get("items")
        if not isinstance(names, list) or not isinstance(items, list) or len(names) != len(items) or not items:
            raise ValueError(f"{where} lists outputs and results that do not match one to one: check the file")
        read = [Interactions.from_dict(item, f"{where}, output {i}") for i, item in enumerate(items)]
        total = doc.get("total")
        return cls(read, names, Interactions.from_dict(total, f"{where}, total") if total else None)

    # -- display -------------------------------------------------------------------------------
    def plot(self, kind: str = "tokens", **kwargs):
        """A matplotlib Figure: ``"tokens"`` is the parts × outputs heatmap (see spectrex.report.plots)."""
        from .report.plots import plot_outputs

        if kind != "tokens":
            raise ValueError(f"unknown plot {kind!r} for several outputs; use 'tokens', or plot one: result[0].plot()")
        return plot_outputs(self, **kwargs)

    def summary(self, index: str = "SV"):
        """The parts × outputs table with each output's strongest pair (see :mod:`spectrex.report.outputs`)."""
        from .report.outputs import outputs_overview

        return outputs_overview(self, index=index)

    def __repr__(self) -> str:
        return f"Explanations({len(self)} output{'s' * (len(self) != 1)}, n={self.n})\n" + self.summary().text()

    def _repr_html_(self) -> str:
        return self.summary().html()


def every(result: Interactions | Explanations) -> list[Interactions]:
    """Each explanation a result holds: itself, or an :class:`Explanations`' outputs and total."""
    return result.all() if isinstance(result, Explanations) else [result]


def read_result(source: str | Path, max_bytes: int | None = None) -> Interactions | Explanations:
    """A result file of either kind: one output (:class:`Interactions`) or several (:class:`Explanations`)."""
    from .interactions import parse_result, result_text

    text, where = result_text(source, max_bytes)  # read once, bounded, and parsed once
    doc = parse_result(text, where)
    if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
        return Explanations.from_dict(doc, where)
    return Interactions.from_dict(doc, where)


def shown_names(outputs: Sequence[str]) -> list[str]:
    """Output names as displayed: quoted so that a token's spaces show (``" Maria"``), repeats told
    apart by position (``" the"@3``)."""
    quoted = [json.dumps(x, ensure_ascii=False) for x in outputs]
    return [q if quoted.count(q) == 1 else f"{q}@{i}" for i, q in enumerate(quoted)]
