"""``spectrex explain``: which parts of a text, alone and together, make a model say what it says."""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path

from rich.console import Console

from .checks import check_output
from .output import print_result

#: the built-in example: a question whose answer needs two of three documents
EXAMPLE = {
    "documents": [
        "The waiter is called Tom Baker.",
        "The chef's first name is Maria.",
        "The chef's family name is Lopez.",
    ],
    "template": "{text}\n\nQuestion: What is the chef's full name?\nAnswer: The chef's full name is",
    "target": " Maria Lopez",
}

HELP = """\
Explain a text model: split the text into parts (words, sentences, …), query the model on many
copies of the text with some parts removed, and report the parts and the groups of parts that
drive the model's output — with how faithful the explanation is on fresh masks (R²).

With no text, explains Gemma 3 270M (offline) answering a question over three short documents.

What is explained (the number the table decomposes):
  gemma-3-270m, hf:PATH (causal LM), openai:URL
      log P(target | text) — the log-probability of --target after the (masked) text; without
      --target, the model's own greedy continuation of the full text is used.
  toxicity            the logit of a toxicity label (--target toxic|insult|obscene|threat|…).
  hf:PATH (classifier) the logit of a class (--target NAME or index; default: the predicted one).
"""

EPILOG = """\
examples:
  spectrex explain
  spectrex explain "you are a wonderful idiot" --model toxicity --parts words
  spectrex explain "Review: great acting, dull plot." --target " positive" --budget 300
  spectrex explain "$(cat doc.txt)" --parts sentences --json out.json --cache answers.sqlite
  spectrex explain "The capital of France is" --model openai:http://127.0.0.1:8080 --target " Paris"
"""


def _engine(args):
    """A QueryEngine from the options (through the engine's shared CLI options when this version has them)."""
    from ..engine import QueryEngine

    if hasattr(args, "backend"):  # options added by cli/engine_args.py
        from .engine_args import engine_from_args

        return engine_from_args(args)
    accepts_cache = "cache" in inspect.signature(QueryEngine.__init__).parameters
    if args.cache is not None and not accepts_cache:
        raise ValueError("this version of spectrex has no query cache; leave out --cache")
    return QueryEngine(cache=args.cache) if args.cache is not None else QueryEngine()


def run(args: argparse.Namespace, console: Console) -> int:
    from ..models import explain_text, load_model

    settings: dict = {}
    if args.text is None and not args.doc:
        if args.model.lower() == "toxicity" or args.model.startswith("tiny-"):
            raise ValueError("give a TEXT to explain (the built-in example is a question for a language model)")
        text = EXAMPLE["documents"]
        target = args.target if args.target is not None else EXAMPLE["target"]
        settings["template"] = args.template or EXAMPLE["template"]
        console.print("[bold]Built-in example[/]: Gemma 3 270M answers a question over three documents")
        console.print("  " + "\n  ".join(f"[{i}] {d}" for i, d in enumerate(text)))
        console.print(f"  prompt ends: …{settings['template'].split(chr(10))[-1]!r}  target: {target!r}")
        parts = "documents"
    else:
        text = args.doc if args.doc else args.text
        if args.doc and args.text is not None:
            raise ValueError("give the text either as the TEXT argument or as --doc documents, not both")
        target = args.target
        parts = "documents" if args.doc else args.parts
        if args.template:
            settings["template"] = args.template
    if args.contrast:
        settings["contrast"] = args.contrast
    if args.device:
        settings["device"] = args.device
    settings.update(_served_settings(args))
    check_output(args.json, "--json")  # before any model is loaded or queried
    with console.status(f"loading {args.model} …"):
        scorer = load_model(args.model, target=target, **settings)
    engine = _engine(args)
    try:
        result = explain_text(
            text,
            scorer,
            parts=parts,
            method=args.method,
            budget=args.budget,
            masking=args.masking,
            holdout=args.holdout,
            random_state=args.seed,
            engine=engine,
            **({"max_order": args.max_order} if args.max_order is not None else {}),
        )
    except KeyboardInterrupt:
        if args.cache:
            stored = getattr(engine, "stored_answers", None)
            count = f"{stored:,} answers received in this run are" if stored is not None else "the answers are"
            console.print(
                f"[yellow]interrupted: {count} stored in {args.cache}; run the same command again to go on "
                "(stored answers are not asked again)[/]",
                soft_wrap=True,
            )
        raise
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            close()
    if args.index != "Moebius":
        result = result.to(args.index)
    meta = result.metadata
    console.print(f"model: {meta['model']}  ·  explained: {_what(meta)}  ·  {len(result.labels)} parts ({parts})")
    print_result(result, console, k=args.top)
    if args.json:
        Path(args.json).write_text(result.to_json())
        console.print(f"saved to {args.json}")
    return 0


def _served_settings(args) -> dict:
    """--echo/--no-echo, --timeout and --concurrency: for openai: models only."""
    given = {k: getattr(args, k, None) for k in ("echo", "timeout", "concurrency")}
    given = {k: v for k, v in given.items() if v is not None}
    if given and not args.model.lower().startswith("openai:"):
        flags = ", ".join("--" + k for k in given)
        raise ValueError(f"{flags} apply to served models only (--model openai:URL); leave them out for {args.model}")
    if given.get("timeout") is not None and not given["timeout"] > 0:
        raise ValueError(f"--timeout must be a positive number of seconds, got {given['timeout']}")
    if given.get("concurrency") is not None and given["concurrency"] < 1:
        raise ValueError(f"--concurrency must be at least 1 (requests in flight), got {given['concurrency']}")
    return given


def _what(meta: dict) -> str:
    target = meta.get("target")
    if isinstance(target, str) and meta.get("model") != "toxic-comment-classifier-0.3.0":
        if isinstance(meta.get("contrast"), str):
            return f"log P({json.dumps(target)} | text) − log P({json.dumps(meta['contrast'])} | text)"
        return f"log P({json.dumps(target)} | text)"
    return f"{target!r} score" if target is not None else "score"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "explain",
        help="explain a text model's output (Gemma 3 270M, toxicity, local HF models, OpenAI-compatible servers)",
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="?", default=None, help="the text to explain (default: a built-in example)")
    p.add_argument(
        "--doc", action="append", default=[], metavar="TEXT", help="a document (repeat: one part per document)"
    )
    p.add_argument(
        "--model",
        default="gemma-3-270m",
        help="gemma-3-270m (default, offline), toxicity, hf:PATH (local folder), openai:URL[#MODEL]",
    )
    p.add_argument("--target", default=None, help="continuation to score (LMs) or class/label (classifiers)")
    p.add_argument("--contrast", default=None, help="LMs: subtract log P(CONTRAST), e.g. --contrast ' negative'")
    p.add_argument("--template", default=None, help="LMs: prompt with {text} where the text goes")
    p.add_argument(
        "--parts",
        default="words",
        choices=["words", "sentences", "paragraphs", "tokens"],
        help="what a part is (default words)",
    )
    p.add_argument(
        "--masking",
        default="remove",
        choices=["remove", "mask", "replace"],
        help="how a hidden part is hidden: removed (default; natural text for LMs), the tokenizer's mask token, or '_'",
    )
    p.add_argument(
        "--method",
        default="auto",
        help="proxyspex, spex, exact, … (default auto: exact up to 10 parts, else proxyspex)",
    )
    p.add_argument("--budget", type=int, default=None, help="most model queries to spend (default: the method's)")
    p.add_argument("--max-order", type=int, default=None, help="highest interaction order to recover")
    p.add_argument("--holdout", type=int, default=64, help="extra random queries to measure faithfulness R² (64)")
    p.add_argument("--index", default="Moebius", help="index to show: Moebius, FBII, FSII, STII, SV, … (Moebius)")
    p.add_argument("--top", type=int, default=10, help="rows in the table (10)")
    p.add_argument("--json", default=None, metavar="PATH", help="save the full result as JSON")
    p.add_argument("--seed", type=int, default=0, help="random seed of the masks (0)")
    p.add_argument("--device", default=None, help="cuda, cpu, … (default: a GPU when there is one)")
    served = p.add_argument_group("served models (openai:URL)")
    served.add_argument(
        "--echo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="score the target inside the echoed prompt (exact; default: when the server supports it); "
        "--no-echo reads the next token's top alternatives (one-token targets)",
    )
    served.add_argument("--timeout", type=float, default=None, help="seconds per request attempt (60)")
    served.add_argument(
        "--concurrency", type=int, default=None, help="requests in flight at once (4; raise it for vLLM or hosted APIs)"
    )
    try:
        from .engine_args import add_engine_args
    except ImportError:
        p.add_argument(
            "--cache", default=None, metavar="PATH", help="SQLite file of model answers, reused by later runs"
        )
    else:
        add_engine_args(p)
    p.set_defaults(run=run)
