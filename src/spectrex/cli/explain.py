"""``spectrex explain``: which parts of a text, alone and together, make a model say what it says."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from .checks import check_output, index_name, seconds_or_auto
from .engine_args import check_engine_args
from .output import print_outputs, print_result
from .plan import plan_text
from .settings_args import add_settings_args, dataset_options

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


def _engine(args, hint: str | None = None):
    """A QueryEngine from the shared engine options; answers kept in the default folder unless --no-cache."""
    from .engine_args import engine_from_args

    return engine_from_args(args, keep_answers=True, hint=hint)


def unescape(text: str | None) -> str | None:
    r"""``\n`` and ``\t`` typed on a command line mean a new line and a tab (shells pass them literally)."""
    if text is None:
        return None
    return text.replace("\\n", "\n").replace("\\t", "\t")


def _input_text(args) -> str | None:
    if args.file is None:
        return args.text
    if args.text is not None:
        raise ValueError("give the text either as the TEXT argument or with --file, not both")
    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"--file {args.file}: no such file; give the path of a UTF-8 text file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"--file {args.file} is not UTF-8 text ({exc.reason}); convert it to UTF-8 first") from exc


def run(args: argparse.Namespace, console: Console) -> int:
    import time

    if getattr(args, "inputs", None) is not None:  # a whole dataset: spectrex.runs
        from .dataset import run_dataset

        return run_dataset(args, console)
    from ..models import load_model
    from ..settings import RunSettings
    from ..workflows import explain_text

    check_output(args.json, "--json")  # before any model is loaded or queried
    check_engine_args(args)
    run_settings = RunSettings.from_args(args)  # checked before any model loads
    settings: dict = {}
    text = _input_text(args)
    if text is None and not args.doc:
        if args.model.lower() == "toxicity" or args.model.startswith("tiny-"):
            raise ValueError("give a TEXT to explain (the built-in example is a question for a language model)")
        text = EXAMPLE["documents"]
        target = unescape(args.target) if args.target is not None else EXAMPLE["target"]
        settings["template"] = unescape(args.template) or EXAMPLE["template"]
        console.print("[bold]Built-in example[/]: Gemma 3 270M answers a question over three documents")
        console.print("  " + "\n  ".join(f"[{i}] {d}" for i, d in enumerate(text)))
        console.print(f"  prompt ends: …{settings['template'].split(chr(10))[-1]!r}  target: {target!r}")
        run_settings = run_settings.replace(parts="documents")
    else:
        if args.doc and text is not None:
            raise ValueError("give the text either as the TEXT argument (or --file) or as --doc documents, not both")
        text = args.doc if args.doc else text
        target = unescape(args.target)
        if args.doc:
            run_settings = run_settings.replace(parts="documents")
        if args.template:
            settings["template"] = unescape(args.template)
    if args.contrast:
        settings["contrast"] = unescape(args.contrast)
    _check_outputs(args)
    settings.update(run_settings.model_flags())
    if args.chat:
        settings["chat"] = True
    if args.system is not None:
        if not args.chat:
            raise ValueError("--system sets the system prompt of a chat: add --chat")
        settings["system"] = unescape(args.system)
    if args.device:
        settings["device"] = args.device
    settings.update(_served_settings(args))
    # before any model loads: the arguments, and what the run will cost
    planned = None
    if run_settings.parts != "tokens":  # tokens need the model's tokenizer: planned once it is loaded
        planned = plan_text(text, run_settings, template=settings.get("template"))
        _say_plan(console, planned)
    elif settings.get("template") is not None:
        from ..models.base import check_template

        check_template(settings["template"])
    t0 = time.perf_counter()
    scorer = load_model(args.model, target=target, **settings)  # its own spinner
    load_s = time.perf_counter() - t0
    if planned is None:
        planned = plan_text(text, run_settings, tokenizer=getattr(scorer, "tokenizer", None))
        _say_plan(console, planned)
    engine = _engine(args, _cheaper(planned))
    try:
        result = explain_text(text, scorer, settings=run_settings, engine=engine)
    except KeyboardInterrupt:
        console.print(f"[yellow]{interrupted_line(engine, args)}[/]", soft_wrap=True, highlight=False)
        return 130  # said it all: no second "interrupted" line
    finally:
        engine.close()
    from ..explanations import Explanations, every

    for each in every(result):
        each.provenance.timings.load_s = load_s  # the model's loading, before the run: only the CLI knows it
    if isinstance(result, Explanations):  # several outputs: the parts × outputs table
        print_outputs(result, console, index=args.index, errors=args.errors)
    else:
        print_result(result, console, k=args.top, index=args.index, max_order=args.max_order, errors=args.errors)
    if args.json:
        Path(args.json).write_text(result.to_json(), encoding="utf-8")
        console.print(f"saved to {args.json}")
    return 0


def _check_outputs(args) -> None:
    """--per-token (language models) and --all-labels (classifiers): several outputs from one set of queries,
    each for the kind of model that has them."""
    model = args.model.lower()
    classifier = model == "toxicity" or model == "tiny-classifier"
    if args.per_token and classifier:
        raise ValueError(
            f"--per-token explains each token a language model scores; {args.model} is a classifier: "
            "use --all-labels to explain each of its labels"
        )
    if args.all_labels and model.startswith(("gemma", "openai:", "tiny-causal")):
        raise ValueError(
            f"--all-labels explains each label of a classifier; {args.model} is a language model: "
            "use --per-token to explain each token of its answer"
        )
    if args.per_token and args.contrast:
        raise ValueError(
            "--per-token explains each token of the target; leave out --contrast (a difference of two "
            "sequences has no tokens of its own)"
        )
    if args.all_labels and args.target is not None:
        raise ValueError("--all-labels explains every label at once; leave out --target")


def _say_plan(console: Console, planned) -> None:
    from .. import console as talk

    if not talk.is_quiet():
        console.print(f"[bold]planned:[/] {planned.line()}", highlight=False)


def _cheaper(planned) -> str:
    """The flag that makes this run cost less, for the time estimate said early in a long run."""
    if planned.method == "exact":
        return "fewer parts cost less (exact doubles with each part): --parts sentences, or a shorter text"
    half = planned.queries // 2
    if half < planned.minimum:
        least = f"{planned.method} needs {planned.minimum:,} queries or more here"
        return f"{least}: fewer parts cost less (--parts sentences)"
    return f"--budget {half:,} halves the fit's queries (held-out R² tells what it costs)"


def interrupted_line(engine, args) -> str:
    """What Ctrl-C kept, and how to go on."""
    kept = engine.stored_answers
    where = args.cache or (str(engine.cache_files[-1]) if engine.cache_files else None)
    if where is None:
        why = " (--no-cache)" if getattr(args, "no_cache", False) else ""
        return f"interrupted: no answers were kept{why}; a rerun asks the model everything again"
    return (
        f"interrupted: {kept:,} answers kept in {where}; run the same command again to go on "
        "(kept answers are not asked again)"
    )


def _served_settings(args) -> dict:
    """--echo/--no-echo, --timeout and --concurrency: for openai: models only."""
    given = {k: getattr(args, k, None) for k in ("echo", "timeout", "concurrency")}
    given = {k: v for k, v in given.items() if v is not None and not (k == "timeout" and v == "auto")}
    if given and not args.model.lower().startswith("openai:"):
        flags = ", ".join("--" + k for k in given)
        raise ValueError(f"{flags} apply to served models only (--model openai:URL); leave them out for {args.model}")
    if given.get("concurrency") is not None and given["concurrency"] < 1:
        raise ValueError(f"--concurrency must be at least 1 (requests in flight), got {given['concurrency']}")
    return given


def add_parser(sub) -> None:
    p = sub.add_parser(
        "explain",
        help="explain a text model's output (Gemma 3 270M, toxicity, local HF models, OpenAI-compatible servers)",
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="?", default=None, help="the text to explain (default: a built-in example)")
    p.add_argument("--file", default=None, metavar="PATH", help="read the text to explain from a UTF-8 file")
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
    p.add_argument("--template", default=None, help="LMs: prompt with {text} where the text goes (\\n = new line)")
    p.add_argument(
        "--chat",
        action="store_true",
        help="LMs: prompt through the tokenizer's chat template (the text, or --template, is the user's message; "
        "the template's own tokens are never masked)",
    )
    p.add_argument("--system", default=None, help="with --chat: the system prompt (\\n = new line)")
    add_settings_args(p, "per_token", "all_labels", "parts", "masking", "method", "budget", "max_order", "holdout")
    p.add_argument(
        "--index",
        default=None,
        type=index_name,
        help="also show the full table in this index: Moebius, Fourier, FSII, STII, … (default: Shapley values "
        "and pairs only)",
    )
    add_settings_args(p, "top", help={"top": "rows in the table, or interactions kept per record with --inputs (10)"})
    p.add_argument(
        "--errors",
        action="store_true",
        help="show each value's standard error and 90 %% interval (values corrected beyond the surrogate have one)",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="save the full result as JSON")
    add_settings_args(p, "seed")
    p.add_argument("--device", default=None, help="cuda, cpu, … (default: a GPU when there is one)")
    served = p.add_argument_group("served models (openai:URL)")
    served.add_argument(
        "--echo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="score the target inside the echoed prompt (exact; default: when the server supports it); "
        "--no-echo reads the next token's top alternatives (one-token targets)",
    )
    served.add_argument(
        "--timeout",
        type=seconds_or_auto,
        default="auto",
        help="seconds per request attempt, or auto (default): 60 s until the first answer, then 10 × the slowest "
        "answer so far (10–60 s), doubled on each retry of a request that timed out",
    )
    served.add_argument(
        "--concurrency", type=int, default=None, help="requests in flight at once (4; raise it for vLLM or hosted APIs)"
    )
    from .engine_args import add_engine_args

    add_engine_args(p)
    d = p.add_argument_group("a whole dataset (one result per record, resumable; see spectrex summarize)")
    d.add_argument("--inputs", default=None, metavar="PATH", help="JSONL/CSV of records (text, or documents)")
    d.add_argument("--out", default=None, metavar="DIR", help="folder of the results (default results)")
    d.add_argument("--ray-address", metavar="ADDR", help="--backend ray: join this cluster (default: a new one)")
    add_settings_args(d, *dataset_options())
    p.set_defaults(run=run)
