"""The readable summary of a multi-output explanation: parts × outputs, then each output's strongest pair.

This is the view people know from per-token attribution tools (a heatmap of input parts against
generated tokens), with what those tools lack: the interaction that matters most for each output.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass

import numpy as np

from .overview import PAIR_INDEX, cost_summary, display_labels, fit_summary

#: widest part label and output name shown in the parts × outputs table (longer ones are cut or wrapped)
PART_WIDTH, OUTPUT_WIDTH = 24, 12


@dataclass
class OutputsOverview:
    """Plain data of the summary (rendered by :meth:`text` and :meth:`html`)."""

    header: str
    index: str
    parts: list[str]
    outputs: list[str]
    values: np.ndarray  # (n parts, m outputs [+ total])
    pairs: list[tuple[str, str, float]]  # (output, "a × b", value)
    pair_index: str | None

    def text(self, width: int | None = None) -> str:
        """The table as plain text, its output columns in blocks that fit ``width`` characters (default: the
        terminal's), as pandas wraps a wide frame."""
        width = width or shutil.get_terminal_size((100, 24)).columns
        label = min(PART_WIDTH, max(8, *(len(p) for p in self.parts)))
        col = max(8, min(OUTPUT_WIDTH, max(len(o) for o in self.outputs) + 1))
        out = [self.header, f"{self.index} of each part (rows) for each output (columns):"]
        blocks = column_blocks([col] * len(self.outputs), width - label - 2)
        for block in blocks:
            if len(blocks) > 1:
                out.append(f"outputs {block.start + 1}–{block.stop} of {len(self.outputs)}:")
            out.append(" " * (label + 2) + "".join(f"{_cut(o, col - 1):>{col}}" for o in self.outputs[block]))
            for name, row in zip(self.parts, self.values):
                out.append(f"  {_cut(name, label):<{label}}" + "".join(f"{v:>+{col}.3f}" for v in row[block]))
        if self.pairs:
            out.append(f"strongest pair per output, {self.pair_index}:")
            w = max(len(o) for o, _, _ in self.pairs)
            out += [f"  {o:<{w}}  {pair}  {v:+.4g}" for o, pair, v in self.pairs]
        return "\n".join(out)

    def html(self) -> str:
        """The table as an HTML heatmap (red = raises the output, blue = lowers it); every string escaped."""
        e = html.escape
        peak = max(float(np.abs(self.values).max(initial=0.0)), 1e-300)

        def cell(v: float) -> str:
            a = min(abs(v) / peak, 1.0)
            rgb = "217,72,59" if v > 0 else "59,111,217"
            return f"<td style='background:rgba({rgb},{0.85 * a:.2f})'>{v:+.3f}</td>"

        head = "".join(f"<th>{e(o)}</th>" for o in self.outputs)
        rows = "".join(
            f"<tr><td style='text-align:left'>{e(p)}</td>{''.join(cell(float(v)) for v in row)}</tr>"
            for p, row in zip(self.parts, self.values)
        )
        pairs = "".join(f"<li>{e(o)}: {e(p)} {v:+.4g}</li>" for o, p, v in self.pairs)
        return (
            f"<div class='spectrex-outputs'><div>{e(self.header)}</div>"
            # a generated answer's many tokens scroll inside their box, not the page
            f"<div style='overflow-x:auto'><table><tr><th style='text-align:left'>part \\ {e(self.index)}</th>"
            f"{head}</tr>{rows}</table></div>"
            + (f"<div>strongest pair per output ({e(self.pair_index or '')}):<ul>{pairs}</ul></div>" if pairs else "")
            + "</div>"
        )


def column_blocks(widths: list[int], room: int) -> list[slice]:
    """Consecutive columns of the given widths packed into blocks of at most ``room`` characters (a column
    wider than the room gets a block of its own): a table of many outputs — a generated answer's tokens —
    is printed as several tables one under another instead of columns cut to "…"."""
    blocks, start, used = [], 0, 0
    for i, w in enumerate(widths):
        if i > start and used + w > room:
            blocks.append(slice(start, i))
            start, used = i, 0
        used += w
    blocks.append(slice(start, len(widths)))
    return blocks


def _cut(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def outputs_overview(result, index: str = "SV") -> OutputsOverview:
    """The summary of an :class:`~spectrex.Explanations`: first-order values in ``index`` for every output
    (and the total, last), and each output's strongest pair."""
    from ..explanations import shown_names

    meta = result.metadata
    names = shown_names(result.names)
    values = result.matrix(index)
    if result.total is not None:
        names.append(f"[{result.total.metadata.get('output') or 'total'}]")
        values = np.column_stack([values, result.total.to(index).first_order()])
    pair_index = PAIR_INDEX.get(index) if result.n >= 2 else None
    labels = display_labels(result.labels)
    pairs = []
    for name, item in zip(names, result.all() if pair_index else []):
        # an output whose recovered function has no pair (max_order 1) simply has none to show
        top = item.to(pair_index, max_order=2).top(1, order=2) if (item.max_order or 2) >= 2 else []
        if top:
            pairs.append((name, " × ".join(labels[i] for i in top[0].parts), top[0].value))
    model = f" · model {meta['model']}" if meta.get("model") else ""
    r2 = [each.metadata.get("faithfulness") for each in result.all()]
    r2 = [x for x in r2 if isinstance(x, float) and np.isfinite(x)]
    fit = fit_summary(result.provenance)
    if len(r2) > 1:
        fresh = meta.get("holdout_queries", "?")
        fit = f"held-out R² {min(r2):.3f}–{max(r2):.3f} over the outputs on {fresh} fresh masks"
    header = (
        f"explained: {len(result)} output{'s' * (len(result) != 1)} from one set of queries{model}\n"
        f"{result.n} parts · {meta.get('method', '?')} · {fit} · {cost_summary(meta)}"
    )
    return OutputsOverview(header, index, labels, names, values, pairs, pair_index)
