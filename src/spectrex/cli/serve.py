"""``spectrex serve [DIR]``: a local read-only viewer of every result JSON in a folder."""

from __future__ import annotations

import argparse

from rich.console import Console

from .checks import int_at_least


def run(args: argparse.Namespace, console: Console) -> int:
    from ..report.serve import ResultServer

    server = ResultServer(args.dir, args.host, args.port, verbose=args.verbose)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] serving on {args.host}: other machines can read these results")
    console.print(f"serving results in {server.root} at {server.url} (read-only; Ctrl-C stops)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="browse every result JSON in a folder (local, read-only)")
    p.add_argument("dir", nargs="?", default=".", help="folder holding result JSON files (default: here)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int_at_least(0, 65535), default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(run=run)
