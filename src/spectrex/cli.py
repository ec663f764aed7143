"""The ``spectrex`` command."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from . import __version__
from .interactions import Interactions


def print_result(result: Interactions, console: Console, k: int = 10) -> None:
    """A readable table of the top interactions with their parts' text."""
    meta = result.metadata
    table = Table(title=f"Top interactions ({result.index}, method={meta.get('method', '?')})")
    table.add_column("parts")
    table.add_column("order", justify="right")
    table.add_column("value", justify="right")
    for term in result.top(k):
        table.add_row(" × ".join(term.labels), str(len(term.parts)), f"{term.value:+.4f}")
    console.print(table)
    timings = meta.get("timings", {})
    summary = f"queries: {meta.get('queries', '?'):,}" if isinstance(meta.get("queries"), int) else "queries: ?"
    if "faithfulness" in meta:
        summary += f"  ·  held-out R²: {meta['faithfulness']:.3f}"
    if timings:
        summary += f"  ·  time: {timings.get('total_s', 0):.1f} s (model {timings.get('model_s', 0):.1f} s)"
    console.print(summary)


def _demo(args: argparse.Namespace, console: Console) -> int:
    import numpy as np

    from .api import explain
    from .synthetic import planted

    f = planted(args.n, args.k, 3, args.seed)
    result = explain(f, args.n, method=args.method, budget=args.budget, random_state=args.seed)
    result.metadata["faithfulness"] = result.faithfulness(f, random_state=np.random.default_rng(args.seed + 1))
    console.print(f"Planted function: {args.k} interactions of order ≤ 3 over {args.n} parts")
    print_result(result, console)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spectrex",
        description="Explain what a model does with its input by finding the interactions between input parts.",
    )
    parser.add_argument("--version", action="version", version=f"spectrex {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="recover a planted sparse function (no model needed)")
    demo.add_argument("--n", type=int, default=10, help="number of parts (default 10)")
    demo.add_argument("--k", type=int, default=8, help="number of planted interactions (default 8)")
    demo.add_argument("--method", default="auto", help="exact, spex, proxyspex, … (default auto)")
    demo.add_argument("--budget", type=int, default=None, help="most queries to spend")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        return args.run(args, console)
    except (ValueError, TypeError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
