"""``spectrex summarize RESULTS``: what the explanations of a dataset run say together."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .checks import int_at_least


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def run(args: argparse.Namespace, console: Console) -> int:
    from ..report.html import render_report
    from ..report.summary import render_summary, summarize
    from ..runs.results import entries
    from ..runs.store import INDEX, REPORTS, SUMMARY, RunStore

    root = Path(args.dir)
    rows = entries(root)
    if not rows:  # a page of empty tables would read as "nothing recurs"
        index = root / INDEX if root.is_dir() else root
        lines = sum(1 for line in index.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip())
        held = f"none of its {lines} line{'s' * (lines != 1)} is a record spectrex wrote" if lines else "it is empty"
        raise ValueError(
            f"{index} holds no finished record ({held}); run the dataset first (spectrex explain --inputs … --out "
            f"{root}), or pass the folder of another run"
        )
    s = summarize(rows, k=args.k, top=args.top)
    c, f, o = s["records"], s["faithfulness"], s["order_share"]
    console.print(f"{c['total']} records: {c['ok']} explained, {c['invalid']} invalid, {c['error']} failed")
    if f["count"]:
        console.print(
            f"held-out R²: mean {f['mean']:.3f}, median {f['median']:.3f}, "
            f"10th–90th percentile {f['q10']:.3f}–{f['q90']:.3f}"
        )
    if o["records"]:
        console.print(
            f"share of the output's variance: first order {_pct(o['1'])}, pairs {_pct(o['2'])}, "
            f"order ≥ 3 {_pct(o['3+'])}"
            f" (mean over {o['records']} records; {o['records_mostly_interactions']} are mostly interactions)"
        )
    for title, key in (
        ("Recurring interactions (order ≥ 2)", "recurring"),
        ("Recurring single parts", "recurring_single"),
    ):
        table = Table(title=f"{title} · {s['index']}", title_justify="left")
        for col, just in (("parts", "left"), ("records", "right"), ("share", "right"), ("mean value", "right")):
            table.add_column(col, justify=just)
        for r in s[key][: args.rows]:
            table.add_row(escape(" × ".join(r["parts"])), str(r["count"]), _pct(r["share"]), f"{r['mean']:+.3f}")
        console.print(table)
    out = Path(args.output) if args.output else root / SUMMARY
    if not args.no_reports:
        store = RunStore(root)
        (root / REPORTS).mkdir(exist_ok=True)
        for e in rows:
            if e.get("status") != "ok":
                continue
            src = store.result_path(e["id"])
            dst = root / REPORTS / f"{src.stem}.html"
            if src.exists() and (not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime):
                render_report(src, dst, counterfactual_k=None, back_link="../" + SUMMARY)
    render_summary(root, out, k=args.k, top=args.top)
    console.print(f"summary page: {out}" + ("" if args.no_reports else f" (one report per record in {root / REPORTS})"))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "summarize",
        help="what the explanations of a dataset run say together (recurring interactions, R², order shares)",
        description="Read a dataset run's index (spectrex explain --inputs … --out DIR) and report the interactions "
        "that recur across records, the distribution of faithfulness, and how much of the output is explained by "
        "interactions of order ≥ 2 against first-order terms. Writes DIR/summary.html and one report per record.",
    )
    p.add_argument("dir", metavar="DIR", help="the run folder (holds index.jsonl)")
    p.add_argument("-o", "--output", default=None, help="where to write the summary page (default DIR/summary.html)")
    p.add_argument(
        "-k",
        type=int_at_least(1),
        default=None,
        help="use each record's top K interactions (default: all in the index)",
    )
    p.add_argument("--top", type=int_at_least(1), default=30, help="recurring interactions on the page (30)")
    p.add_argument("--rows", type=int_at_least(0), default=10, help="rows of each table in the terminal (10)")
    p.add_argument("--no-reports", action="store_true", help="do not write a report page per record")
    p.set_defaults(run=run)
