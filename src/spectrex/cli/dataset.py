"""``spectrex explain --inputs data.jsonl --out results/``: every record of a dataset (see :mod:`spectrex.runs`)."""

from __future__ import annotations

import argparse

from rich.console import Console


def run_dataset(args: argparse.Namespace, console: Console) -> int:
    """Run :func:`spectrex.runs.explain_dataset` with the options of ``spectrex explain``."""
    from rich.markup import escape

    from ..redact import redact_text
    from ..runs import explain_dataset

    if args.text is not None or getattr(args, "doc", None) or getattr(args, "file", None):
        raise ValueError("give either --inputs (a file of records) or a text to explain, not both")
    if getattr(args, "cache", None):
        raise ValueError("--cache is for one explanation; a dataset run keeps one answer cache per record in OUT/cache")
    if getattr(args, "no_cache", False):
        raise ValueError(
            "--no-cache is for one explanation; a dataset run needs its per-record caches in OUT/cache to resume"
        )
    if getattr(args, "json", None):
        raise ValueError("--json is for one explanation; a dataset run writes one result per record in OUT/records")
    from ..settings import RunSettings

    out = args.out or "results"
    settings = RunSettings.from_args(args)  # checked before any model loads
    console.print(
        f"explaining the records of {args.inputs} with {redact_text(args.model)} → {out}/"
        + (" on Ray" if settings.backend == "ray" else "")
    )
    run = explain_dataset(
        args.inputs,
        args.model,
        out=out,
        settings=settings,
        target=args.target,
        contrast=args.contrast,
        template=args.template,
        device=args.device,
        ray_address=getattr(args, "ray_address", None),
        progress=False if getattr(args, "no_progress", False) else None,
    )
    done = (
        f"{run.explained} explained now, {run.skipped} finished earlier"
        if run.skipped
        else f"{run.explained} explained"
    )
    console.print(
        f"{run.total} records: [green]{run.ok} ok[/], {run.invalid} invalid, {run.failed} failed "
        f"({done}; {run.seconds:.1f} s). Index: {run.out / 'index.jsonl'}"
    )
    if run.invalid or run.failed:
        from ..runs import load_results

        bad = [r for r in load_results(run.out, as_frame=False) if r["status"] != "ok"]
        for r in bad[:10]:
            console.print(f"  [yellow]{r['status']}[/] {escape(r['id'])}: {escape(str(r['reason']))}", highlight=False)
        if len(bad) > 10:
            console.print(f"  … and {len(bad) - 10} more (status and reason in the index)")
    console.print(f"what the explanations say together: spectrex summarize {run.out}")
    return 0
