"""Terminal output shared by the sub-commands."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..interactions import Interactions


def print_result(result: Interactions, console: Console, k: int = 10) -> None:
    """A readable table of the top interactions with their parts' text, then the run's cost."""
    meta = result.metadata
    table = Table(title=f"Top interactions · {result.index} · method {meta.get('method', '?')}", title_justify="left")
    table.add_column("parts")
    table.add_column("order", justify="right")
    table.add_column("value", justify="right")
    for term in result.top(k):
        table.add_row(" × ".join(term.labels), str(len(term.parts)), f"{term.value:+.4f}")
    console.print(table)
    parts = []
    if isinstance(meta.get("queries"), int):
        parts.append(
            f"queries: {meta['queries']:,}"
            + (f" (+{meta['queries_cached']:,} cached)" if meta.get("queries_cached") else "")
        )
    if "faithfulness" in meta:
        parts.append(f"held-out R²: {meta['faithfulness']:.3f}")
    timings = meta.get("timings") or {}
    if timings:
        parts.append(f"time: {timings.get('total_s', 0):.1f} s (model {timings.get('model_s', 0):.1f} s)")
    console.print("  ·  ".join(parts))
