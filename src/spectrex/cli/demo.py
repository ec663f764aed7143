"""``spectrex demo``: recover a planted sparse function (no model needed)."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from rich.console import Console

from .checks import index_name, int_at_least
from .engine_args import add_engine_args, engine_from_args
from .output import print_result
from .settings_args import add_settings_args


def run(args: argparse.Namespace, console: Console) -> int:
    from ..api import explain
    from ..synthetic import planted

    f = planted(args.n, args.k, 3, args.seed)
    # the planted function is fully determined by these arguments, so they identify it in the cache
    with engine_from_args(args, cache_key=f"demo:planted(n={args.n},k={args.k},order=3,seed={args.seed})") as engine:
        result = explain(f, args.n, method=args.method, budget=args.budget, random_state=args.seed, engine=engine)
    if not result.provenance.every_mask:  # the planted function is cheap: hold out 1,000 fresh masks
        t0 = time.perf_counter()
        r2 = result.faithfulness(f, n_masks=1000, random_state=args.seed + 1)
        result.provenance.add_holdout(r2, 1000, time.perf_counter() - t0)
    console.print(f"Planted function: {args.k} interactions of order ≤ 3 over {args.n} parts")
    print_result(result, console, index=args.index)
    console.print(recovery_line(f, result), highlight=False, soft_wrap=True)
    return 0


@dataclass(frozen=True)
class Recovery:
    """How an explanation's Möbius terms compare with a planted function's: the planted terms it holds within
    ``tol`` (a millionth of the largest), the terms it holds that were not planted, the largest error."""

    hit: int
    planted: int
    spurious: int
    worst: float
    tol: float

    @property
    def exact(self) -> bool:
        return self.hit == self.planted and not self.spurious


def recovery(planted, result) -> Recovery:
    """Whether the explanation found the planted function: its Möbius terms against the planted ones."""
    from ..interactions import Interactions

    truth = {p: v for p, v in Interactions(planted, "Moebius").as_dict().items() if p}
    found = {p: v for p, v in result.to("Moebius").as_dict().items() if p}
    scale = max([abs(v) for v in truth.values()] + [1e-300])
    tol = 1e-6 * scale
    hit = sum(abs(found.get(p, 0.0) - v) <= tol for p, v in truth.items())
    spurious = sum(p not in truth and abs(v) > tol for p, v in found.items())
    worst = max([abs(found.get(p, 0.0) - v) for p, v in truth.items()] + [0.0])
    return Recovery(hit, len(truth), spurious, worst, tol)


def recovery_line(planted, result) -> str:
    """:func:`recovery` as the demo's last line."""
    r = recovery(planted, result)
    if r.exact:
        return (
            f"[bold green]recovered[/]: all {r.planted} planted interactions, largest coefficient error {r.worst:.1e}"
        )
    return (
        f"[bold yellow]not recovered[/]: {r.hit} of {r.planted} planted interactions within {r.tol:.0e}"
        f"{f', {r.spurious} spurious' if r.spurious else ''} (largest error {r.worst:.2g}); raise --budget"
    )


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="recover a planted sparse function (no model needed)")
    p.add_argument("--n", type=int_at_least(1), default=10, help="number of parts (default 10)")
    p.add_argument("--k", type=int_at_least(1), default=8, help="number of planted interactions (default 8)")
    add_settings_args(p, "method", "budget", "seed")
    p.add_argument(
        "--index", default=None, type=index_name, help="also show the full table in this index (Moebius, FSII, …)"
    )
    add_engine_args(p)
    p.set_defaults(run=run)
