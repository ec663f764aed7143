"""Runner: ``python -m benchmarks all --quick`` or ``python -m benchmarks spex_vs_reference``."""

from __future__ import annotations

import argparse
import pkgutil
import sys
import time
from importlib import import_module
from pathlib import Path

import benchmarks

HERE = Path(__file__).parent
SKIP = {"common"}


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_") and m.name not in SKIP
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="+", help=f"'all' or any of: {', '.join(available())}")
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes on 2 cores)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where tables and plots go")
    args = parser.parse_args(argv)
    names = available() if args.names == ["all"] else args.names
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(available())}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        import_module(f"benchmarks.{name}").run(quick=args.quick, out=args.out)
        print(f"== {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
