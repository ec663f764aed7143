"""``spectrex report result.json -o report.html``: one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from .checks import check_output, check_result_file, int_at_least


def run(args: argparse.Namespace, console: Console) -> int:
    from ..report.html import render_report

    src = Path(args.result)
    if src.is_dir():
        raise IsADirectoryError(
            f"{src} is a folder; pass one result file written by spectrex explain --json or Interactions.to_json "
            f"(spectrex serve {src} browses every result in a folder)"
        )
    if not src.is_file():
        raise FileNotFoundError(f"no result file at {src}; write one with result.to_json('{src.name}')")
    check_result_file(src)
    out = Path(args.output) if args.output else src.with_suffix(".html")
    check_output(out, "-o/--output")
    cf = None if args.counterfactual_k <= 0 else args.counterfactual_k
    render_report(src, out, k=args.top, max_order=args.max_order, counterfactual_k=cf)
    console.print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB, self-contained: open it in any browser)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="render a result JSON as one self-contained HTML page")
    p.add_argument("result", help="a result written by Interactions.to_json()")
    p.add_argument("-o", "--output", help="HTML file to write (default: the result's name with .html)")
    p.add_argument(
        "--top", "--k", dest="top", type=int_at_least(1), default=20, help="interactions listed per index (default 20)"
    )
    p.add_argument("--max-order", type=int_at_least(1), default=None, help="order of the FSII/STII views (default ≤ 3)")
    p.add_argument(
        "--counterfactual-k",
        type=int_at_least(0),
        default=3,
        help="show the ≤ k removals that move the output most (0: off)",
    )
    p.set_defaults(run=run)
