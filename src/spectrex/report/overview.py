"""The readable summary of one explanation, shared by the CLI, ``repr``, notebooks and the report.

It leads with *what* was explained (the quantity, with its target, contrast and template, and its
value on the full and the empty input), then the parts' first-order attributions (Shapley values by
default) and the strongest pairwise interactions, with a two-line legend of what the numbers mean.
The full view in any index (Möbius, Fourier, …) stays one switch away: ``result.to(index)``.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..models.base import log_probability, logit_of
from ..provenance import Provenance
from ..transforms.residual import ROUNDING
from .colours import sign_colour

#: the index of the pairwise table for each first-order index
PAIR_INDEX = {"SV": "SII", "BV": "BII"}

LEGENDS = {
    "SV": "Shapley value: the part's average effect on the output when added to a random subset of the others "
    "(they sum to full − empty).",
    "BV": "Banzhaf value: the part's average effect on the output over all subsets of the others.",
    "SII": "Pair (Shapley interaction): how much the two parts together move the output beyond their separate "
    "effects; + they reinforce each other, − one cancels the other.",
    "BII": "Pair (Banzhaf interaction): the two parts' joint effect beyond their separate effects, averaged over "
    "all subsets; + reinforce, − cancel.",
}

ORDER_NOTE = (
    "An order-k term is the effect that appears only when all k parts are present together "
    "(Möbius: f(S) = Σ_{T ⊆ S} a_T)."
)


@dataclass
class Overview:
    """Plain data of the summary (rendered by :meth:`text` and :meth:`html`)."""

    quantity: str
    model: str | None
    method: str
    n: int
    #: the model's own value on the full input (None: not asked), the explanation's on the full and empty inputs
    full_model: float | None
    full_fit: float
    empty_fit: float
    fit: str
    cost: str
    first_index: str
    first: list[tuple[str, float]]
    pair_index: str | None
    pairs: list[tuple[str, float]] = field(default_factory=list)
    template: str | None = None
    #: standard errors of ``first`` and ``pairs`` (NaN where the value is the surrogate's alone)
    first_se: list[float] = field(default_factory=list)
    pairs_se: list[float] = field(default_factory=list)

    def values(self) -> str:
        """The full and empty inputs' values, each labelled with whose it is (the model's or the explanation's)."""
        model = f"model {self.full_model:+.4g}, " if self.full_model is not None else ""
        return f"full input: {model}explanation {self.full_fit:+.4g} · empty input: explanation {self.empty_fit:+.4g}"

    def legend(self) -> list[str]:
        lines = [LEGENDS.get(self.first_index, f"{self.first_index}: first-order values.")]
        if self.pair_index:
            lines.append(LEGENDS.get(self.pair_index, f"{self.pair_index}: pairwise values."))
        return lines

    def text(self) -> str:
        out = [f"explained: {self.quantity}" + (f"  ·  model {self.model}" if self.model else "")]
        if self.template and self.template != "{text}":
            out.append(f"prompt template: {json.dumps(self.template, ensure_ascii=False)}")
        out.append(f"{self.values()}   ({self.n} parts · {self.method} · {self.fit})")
        width = min(48, max([8] + [len(label) for label, _ in self.first + self.pairs]))
        out.append(f"parts, {self.first_index}:")
        out += [
            f"  {_cut(label, width):<{width}}  {value:+.4g}{_se(se)}"
            for (label, value), se in _with(self.first, self.first_se)
        ]
        if self.pairs:
            out.append(f"pairs, {self.pair_index}:")
            out += [
                f"  {_cut(label, width):<{width}}  {value:+.4g}{_se(se)}"
                for (label, value), se in _with(self.pairs, self.pairs_se)
            ]
        out += [f"  · {line}" for line in self.legend()]
        out.append("  · full view: result.to('Moebius').top() — " + ORDER_NOTE)
        return "\n".join(out)

    def html(self) -> str:
        """A compact HTML block (for Jupyter): header, two tables, legend; every string escaped."""
        e = html.escape

        def rows(items, errors):
            peak = max([abs(v) for _, v in items] + [1e-300])
            cells = []
            for (label, v), se in _with(items, errors):
                colour = sign_colour(v)  # red raises, blue lowers: as in every plot and the report
                width = 60 * abs(v) / peak
                bar = f'<span style="display:inline-block;height:0.7em;width:{width:.0f}px;background:{colour}"></span>'
                cells.append(
                    f"<tr><td style='text-align:left'>{e(label)}</td><td>{v:+.4g}{e(_se(se))}</td><td>{bar}</td></tr>"
                )
            return "".join(cells)

        head = f"<b>explained:</b> {e(self.quantity)}" + (
            f" · model <code>{e(self.model)}</code>" if self.model else ""
        )
        parts = [
            f"<div class='spectrex-result'><div>{head}</div>",
            f"<div>{e(self.values())} · {self.n} parts · {e(self.method)} · {e(self.fit)} · {e(self.cost)}</div>",
            f"<table><tr><th style='text-align:left'>part</th><th>{e(self.first_index)}</th><th></th></tr>"
            f"{rows(self.first, self.first_se)}</table>",
        ]
        if self.pairs:
            parts.append(
                f"<table><tr><th style='text-align:left'>pair</th><th>{e(self.pair_index or '')}</th><th></th></tr>"
                f"{rows(self.pairs, self.pairs_se)}</table>"
            )
        parts.append("<div style='font-size:85%;color:#555'>" + "<br>".join(e(x) for x in self.legend()) + "</div>")
        return "".join(parts) + "</div>"


def rounding_level(*values) -> float:
    """The magnitude below which an explanation's values are rounding (shown as 0; pairs that small are not
    listed): :data:`~spectrex.transforms.residual.ROUNDING` of the largest of ``values`` (numbers or arrays: the
    parts' values, the full or the empty input's)."""
    return ROUNDING * max(max(float(np.max(np.abs(v), initial=0.0)) for v in values), 1e-300)


def _with(items: list, errors: list) -> list:
    """Items paired with their standard errors (NaN when none were given)."""
    return list(zip(items, list(errors) + [float("nan")] * (len(items) - len(errors))))


def _se(se: float) -> str:
    """`` ± se`` when the value has a standard error, else nothing."""
    return f" ± {se:.2g}" if np.isfinite(se) else ""


def _cut(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


#: punctuation trimmed from the ends of a label shown in a table ("drink?" → "drink", "plot." → "plot")
_TRIM = " \t\n.,;:!?\"'()[]«»“”‘’"


def display_labels(labels: list[str]) -> list[str]:
    """Labels as tables show them: surrounding punctuation trimmed, and a position only where the
    trimmed label repeats (``the#2``, ``the#7``; ``idiot`` alone stays ``idiot``)."""
    shown = [lab.strip(_TRIM) or lab.strip() or lab for lab in labels]
    counts = Counter(shown)
    return [f"{lab}#{i}" if counts[lab] > 1 else lab for i, lab in enumerate(shown)]


def quantity(meta: dict) -> str:
    """What the explained number is, in words, from a result's metadata.

    Results state it (``quantity``, from the value function); files of 0.2.0 and several-output items do
    not always, and then it is told from the target and the model."""
    if meta.get("quantity"):
        return str(meta["quantity"])
    target, contrast = meta.get("target"), meta.get("contrast")
    if isinstance(target, str) and meta.get("kind") != "classifier" and "toxic" not in str(meta.get("model", "")):
        return log_probability(target, contrast)
    return logit_of(target) or "the value function's output"


def fit_summary(prov: Provenance) -> str:
    """How well the explanation reproduces the model: exact, or the held-out R²."""
    if prov.every_mask:
        return "every mask queried: exact, no fit to check"
    r2 = prov.faithfulness
    if isinstance(r2, (int, float)) and np.isfinite(r2):
        return f"held-out R² {r2:.3f} on {prov.holdout.queries} fresh masks"
    return "no held-out check"


def cost_summary(meta: dict) -> str:
    parts = []
    if isinstance(meta.get("queries"), int):
        cached = meta.get("queries_cached") or 0
        parts.append(f"{meta['queries']:,} queries" + (f" (+{cached:,} cached)" if cached else ""))
    timings = meta.get("timings") or {}
    if timings:
        load, model, algo = (float(timings.get(k, 0.0)) for k in ("load_s", "model_s", "algorithm_s"))
        total = load + float(timings.get("wall_s", timings.get("total_s", 0.0)))
        split = ([f"loading {load:.1f} s"] if load else []) + [f"model {model:.1f} s", f"algorithm {algo:.2f} s"]
        other = total - load - model - algo
        if other > 0.5:  # the target's generation, the full-input call, the holdout queries
            split.append(f"other {other:.1f} s")
        parts.append(f"{total:.1f} s: " + ", ".join(split))
    return " · ".join(parts)


def overview(result, k: int = 8, index: str = "SV", max_order: int | None = None) -> Overview:
    """The summary of ``result``: ``k`` strongest parts in ``index`` (SV or BV) and ``k`` strongest pairs.

    ``max_order`` (default: the result's own cap) of 1 leaves the pairs out.
    """
    meta = result.metadata
    labels = display_labels(result.labels)
    cap = result.max_order if max_order is None else max_order
    first_view = result.to(index)
    first = first_view.first_order()
    ones = np.ones((1, result.n), bool)
    full_fit, empty_fit = float(result.predict(ones)[0]), float(result.predict(~ones)[0])
    # round-off, not signal: an exact fit leaves values of ~1e-16 (shown as 0, and such pairs not at all)
    tiny = rounding_level(first, full_fit, empty_fit)
    first[np.abs(first) <= tiny] = 0.0
    full_fit, empty_fit = (v if abs(v) > tiny else 0.0 for v in (full_fit, empty_fit))
    order = np.argsort(-np.abs(first), kind="stable")[:k]
    pair_index = PAIR_INDEX.get(index) if (cap is None or cap >= 2) and result.n >= 2 else None
    pairs: list[tuple[str, float]] = []
    pairs_se: list[float] = []
    if pair_index:
        pair_view = result.to(pair_index, max_order=2)
        for term in pair_view.top(k, order=2):
            if abs(term.value) <= tiny:
                break  # the rest are smaller still
            pairs.append((" × ".join(labels[i] for i in term.parts), term.value))
            pairs_se.append(pair_view.std_error(term.parts))
    full = meta.get("full_value")
    return Overview(
        quantity=quantity(meta),
        model=meta.get("model"),
        method=str(meta.get("method", "?")),
        n=result.n,
        full_model=float(full) if isinstance(full, (int, float)) and not isinstance(full, bool) else None,
        full_fit=full_fit,
        empty_fit=empty_fit,
        fit=fit_summary(result.provenance),
        cost=cost_summary(meta),
        first_index=index,
        first=[(labels[i], float(first[i])) for i in order],
        pair_index=pair_index,
        pairs=pairs,
        template=meta.get("template"),
        first_se=[first_view.std_error(int(i)) for i in order],
        pairs_se=pairs_se,
    )
