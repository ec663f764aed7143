"""``spectrex demo``: recover a planted sparse function (no model needed)."""

from __future__ import annotations

import argparse

from rich.console import Console

from .checks import int_at_least
from .engine_args import add_engine_args, engine_from_args
from .output import print_result


def run(args: argparse.Namespace, console: Console) -> int:
    from ..api import explain
    from ..synthetic import planted

    f = planted(args.n, args.k, 3, args.seed)
    # the planted function is fully determined by these arguments, so they identify it in the cache
    with engine_from_args(args, cache_key=f"demo:planted(n={args.n},k={args.k},order=3,seed={args.seed})") as engine:
        result = explain(f, args.n, method=args.method, budget=args.budget, random_state=args.seed, engine=engine)
    if result.metadata["method"] != "exact":
        result.metadata["faithfulness"] = result.faithfulness(f, random_state=args.seed + 1)
        result.metadata["holdout_queries"] = 1000
    console.print(f"Planted function: {args.k} interactions of order ≤ 3 over {args.n} parts")
    print_result(result, console, index=args.index)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="recover a planted sparse function (no model needed)")
    p.add_argument("--n", type=int_at_least(1), default=10, help="number of parts (default 10)")
    p.add_argument("--k", type=int_at_least(1), default=8, help="number of planted interactions (default 8)")
    p.add_argument("--method", default="auto", help="exact, spex, proxyspex, … (default auto)")
    p.add_argument("--budget", type=int, default=None, help="most queries to spend")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--index", default=None, help="also show the full table in this index (Moebius, FSII, …)")
    add_engine_args(p)
    p.set_defaults(run=run)
