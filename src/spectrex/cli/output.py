"""Terminal output shared by the sub-commands: the readable summary first, the full view on request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ..explanations import Explanations
    from ..interactions import Interactions


def print_result(
    result: Interactions,
    console: Console,
    k: int = 10,
    index: str | None = None,
    max_order: int | None = None,
    errors: bool = False,
) -> None:
    """What was explained, the top parts (Shapley values) and pairs, a legend; then ``index``'s full table.

    ``index`` (e.g. ``"Moebius"``) adds the ``k`` largest interactions of every order in that index;
    ``max_order`` caps the orders shown; ``errors`` adds each value's standard error and 90 % interval.
    """
    ov = result.summary(k=k)
    if max_order is not None and max_order < 2:
        ov.pairs, ov.pair_index = [], None
    console.print(
        f"[bold]explained:[/] {ov.quantity}" + (f"  ·  model {ov.model}" if ov.model else ""), highlight=False
    )
    if ov.template and ov.template != "{text}":
        console.print(f"prompt template: {ov.template!r}", highlight=False)
    console.print(f"{escape(ov.values())}  ·  {ov.n} parts  ·  {ov.method}  ·  {ov.fit}", highlight=False)
    _table(console, f"Parts · {ov.first_index}", "part", ov.first, ov.first_se if errors else None)
    if ov.pairs:
        _table(console, f"Pairs · {ov.pair_index}", "pair", ov.pairs, ov.pairs_se if errors else None)
    for line in ov.legend():
        console.print(f"[dim]· {line}[/]", highlight=False)
    if index is not None:
        view = result.to(index, max_order=max_order) if max_order is not None else result.to(index)
        table = Table(title=f"Top interactions · {view.index}", title_justify="left")
        for name, justify in (("parts", "left"), ("order", "right"), ("value", "right")):
            table.add_column(name, justify=justify)
        if errors:
            table.add_column("std. error", justify="right")
        for term in view.top(k):
            cells = [" × ".join(term.labels), str(len(term.parts)), f"{term.value:+.4f}"]
            table.add_row(*cells, *([_error(view.std_error(term.parts))] if errors else []))
        console.print(table)
    else:
        console.print(
            "[dim]· every order: --index Moebius (or FSII, STII, …); an order-k term is the effect seen "
            "only when all k parts are present together[/]",
            highlight=False,
        )
    if ov.cost:
        console.print(ov.cost, highlight=False)


def _error(se: float) -> str:
    return f"{se:.4f}" if se == se else "—"  # NaN: the surrogate's value alone, no sampling error known


def _table(
    console: Console, title: str, what: str, rows: list[tuple[str, float]], errors: list[float] | None = None
) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column(what)
    table.add_column("value", justify="right")
    if errors is not None:
        table.add_column("std. error", justify="right")
        table.add_column("90 % interval", justify="right")
    for i, (label, value) in enumerate(rows):
        if errors is None:
            table.add_row(label, f"{value:+.4f}")
            continue
        se = errors[i] if i < len(errors) else float("nan")
        interval = f"{value - 1.645 * se:+.4f} … {value + 1.645 * se:+.4f}" if se == se else "—"
        table.add_row(label, f"{value:+.4f}", _error(se), interval)
    console.print(table)


def print_outputs(result: Explanations, console: Console, index: str | None = None, errors: bool = False) -> None:
    """Several outputs from one set of queries: the parts × outputs table of Shapley values (the heatmap's
    numbers, coloured by sign; with ``errors`` each with its standard error), each output's strongest pair, the
    fit of each and the cost."""

    from ..report.outputs import OUTPUT_WIDTH, PART_WIDTH, column_blocks, outputs_overview

    ov = outputs_overview(result)
    console.print(ov.header, highlight=False)
    title = f"{ov.index}{' ± standard error' * errors} of each part (rows) for each output (columns)"
    peak = max(float(abs(ov.values).max(initial=0.0)), 1e-300)
    label = min(PART_WIDTH, max(len("part"), *(len(p) for p in ov.parts)))
    cells = [[f"{v:+.3f}" for v in row] for row in ov.values]
    if errors:  # each value's standard error ("—": the surrogate's alone, none known)
        views = [each.to(ov.index) for each in result.all()]
        se = [[view.std_error(i) for view in views] for i in range(len(ov.parts))]
        cells = [[f"{c} ±{e:.3f}" if e == e else f"{c} ±—" for c, e in zip(row, errs)] for row, errs in zip(cells, se)]
    # a column is its header (at most OUTPUT_WIDTH wide, wrapped beyond) or its cells, with padding and a border
    cell = max(len(c) for row in cells for c in row)
    widths = [max(cell, min(OUTPUT_WIDTH, len(name))) + 3 for name in ov.outputs]
    blocks = column_blocks(widths, console.width - label - 4)
    for block in blocks:
        if len(blocks) > 1:  # the first block has the whole title; the others say which outputs they hold
            shown = f"outputs {block.start + 1}–{block.stop} of {len(ov.outputs)}"
            title = f"{title} · {shown}" if block.start == 0 else f"{ov.index} · {shown}"
        table = Table(title=title, title_justify="left")
        table.add_column("part", max_width=PART_WIDTH)
        for name in ov.outputs[block]:
            table.add_column(escape(name), justify="right", max_width=max(cell, OUTPUT_WIDTH))
        for name, row, texts in zip(ov.parts, ov.values, cells):
            shown = []
            for v, text in zip(row[block], texts[block]):
                style = ("red" if v > 0 else "blue") + ("" if abs(v) >= 0.25 * peak else " dim")
                shown.append(f"[{style}]{text}[/]")
            table.add_row(escape(name), *shown)
        console.print(table)
    if ov.pairs:
        pairs = Table(title=f"Strongest pair per output · {ov.pair_index}", title_justify="left")
        for name, justify in (("output", "left"), ("pair", "left"), ("value", "right"), ("held-out R²", "right")):
            pairs.add_column(name, justify=justify)
        fits = dict(zip(ov.outputs, result.all()))
        for name, pair, value in ov.pairs:
            prov = fits[name].provenance
            r2 = prov.faithfulness
            fit = "exact" if prov.every_mask else f"{r2:.3f}" if isinstance(r2, float) else "—"
            pairs.add_row(escape(name), escape(pair), f"{value:+.4f}", fit)
        console.print(pairs)
    console.print("[dim]· red raises the output, blue lowers it; one output: result[NAME] (JSON: --json)[/]")
    if index is not None:
        for name, each in zip(ov.outputs, result.all()):
            view = each.to(index)
            top = ", ".join(f"{' × '.join(t.labels)} {t.value:+.3f}" for t in view.top(3))
            console.print(escape(f"{name} · {view.index}: {top}"), highlight=False)
