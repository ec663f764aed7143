"""``spectrex explain-image PATH``: which image patches (and pairs of patches) drive a class logit."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..parts.image import BUNDLED, read_image  # noqa: F401 - re-exported for the CLI's help
from ..settings import DEFAULT_GRID
from .checks import check_output, index_name, int_at_least
from .output import print_result
from .settings_args import add_settings_args


def parse_fill(text: str):
    if text in ("blur", "mean"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--fill is blur, mean or a grey level in [0, 1]; got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"--fill is blur, mean or a grey level in [0, 1]; got {text!r}")
    return value


def run_question(args: argparse.Namespace, console: Console) -> int:
    """Image patches and the question's words explained together (two-model pipeline or a served VLM)."""
    from ..api import explain
    from ..parts.image import ImageParts
    from ..parts.joint import JointParts
    from ..parts.text import split_text
    from .engine_args import engine_from_args

    for flag, path in (("--json", args.json), ("--output", args.out), ("--report", args.report)):
        check_output(path, flag)  # before any (paid) query
    given = {"--class": args.class_ is not None, "--superpixels": args.superpixels is not None}
    ignored = [flag for flag, yes in given.items() if yes]
    if ignored:
        raise ValueError(
            f"{' and '.join(ignored)} apply to the image classifier alone (without --question); with --question the "
            "value is log P(answer): leave them out, or drop --question to explain a class"
        )
    served = args.model.startswith("openai:")
    if args.answer is not None and not args.answer.strip():
        raise ValueError("--answer is empty: give the answer to explain, e.g. --answer ' coffee', or leave it out")
    if served and not args.answer:
        raise ValueError(
            "a served vision-language model needs --answer (its log-probability is read from one-token "
            "alternatives), e.g. --answer ' coffee'"
        )
    words = split_text(args.question, "words")
    image = ImageParts(read_image(args.path), grid=args.grid or DEFAULT_GRID, fill=args.fill)
    _say_plan(console, args, image.n + words.n)
    if served:
        from ..models.openai_chat import ChatVisionScorer, ChatVisionValue

        url, _, name = args.model[len("openai:") :].partition("#")
        f = ChatVisionValue(
            ChatVisionScorer(url, target=args.answer, model=name or None), JointParts({"image": image, "text": words})
        )
        console.print(f"served vision-language model {args.model}: log P({args.answer!r} | image, question)")
    else:
        from ..models import load_model
        from ..models.pipeline import CaptionThenAnswer

        lm = load_model(args.model, target=args.answer)
        f = CaptionThenAnswer(image, words, lm, args.answer)  # without --answer: generates it on the full input
        console.print(
            "two-model pipeline (not one VLM): EfficientNet-Lite0 captions the masked image, "
            f"{args.model} answers the masked question from the caption"
            + ("" if args.answer else f"; explaining its own answer {f.answer!r}"),
            highlight=False,
            soft_wrap=True,
        )
    with engine_from_args(args, keep_answers=True, hint=_cheaper(args)) as engine:
        result = explain(f, method=args.method, budget=args.budget, random_state=args.seed, engine=engine)
    print_result(result, console, index=args.index, max_order=2)
    out = Path(args.out) if args.out else Path(Path(args.path).stem + "-joint.png")
    result.plot("joint", parts=f.parts, text="text" if "text" in f.parts.groups else "question").savefig(out, dpi=110)
    console.print(f"drawing written to {out}")
    if args.json:
        result.to_json(args.json)
        console.print(f"result written to {args.json}")
    if args.report:
        from ..report import render_report

        render_report(result, args.report, parts=f.parts)
        console.print(f"report written to {args.report} (the image beside the words; switch the index there)")
    return 0


def _say_plan(console: Console, args, n: int) -> None:
    """The planned queries, said (and the budget checked) before any model loads."""
    from .. import console as talk
    from ..settings import RunSettings
    from .plan import plan_parts

    planned = plan_parts(n, RunSettings.from_args(args).replace(holdout=0))  # no held-out check here
    if not talk.is_quiet():
        console.print(f"[bold]planned:[/] {planned.line()}", highlight=False)


def _cheaper(args) -> str:
    return "a coarser --grid (e.g. 2x2) or --budget N costs less"


def run(args: argparse.Namespace, console: Console) -> int:
    from .engine_args import check_engine_args

    check_engine_args(args)
    if args.question is not None and not args.question.strip():
        raise ValueError("--question is empty: give the question to explain with the image, or leave it out")
    if args.grid is not None and args.superpixels is not None:
        raise ValueError("--grid and --superpixels both split the image into parts: give one of them")
    if args.question:
        return run_question(args, console)
    if args.answer is not None:
        raise ValueError("--answer goes with --question (the answer to that question); leave it out to explain a class")
    for flag, path in (("--json", args.json), ("--output", args.out), ("--report", args.report)):
        check_output(path, flag)
    from ..api import explain
    from ..models.vision import ImageClassifierValue, class_index, class_name
    from ..parts.image import ImageParts, check_alone
    from .engine_args import engine_from_args

    image = read_image(args.path)
    grid = None if args.superpixels else args.grid or DEFAULT_GRID
    parts = ImageParts(image, grid=grid, superpixels=args.superpixels, fill=args.fill)
    check_alone(parts)
    _say_plan(console, args, parts.n)
    with console.status("loading EfficientNet-Lite0"):
        target = None if args.class_ is None else class_index(args.class_)
        f = ImageClassifierValue(
            parts, target=target, batch_size=32 if args.batch_size == "auto" else int(args.batch_size)
        )
    top5 = f.full_logits.argsort()[::-1][:5]
    console.print(f"{parts.n} parts ({parts.kind}); top ImageNet classes: {', '.join(map(class_name, top5))}")
    name = class_name(int(f.target))
    with engine_from_args(args, keep_answers=True, hint=_cheaper(args)) as engine:
        result = explain(f, method=args.method, budget=args.budget, random_state=args.seed, engine=engine)
    print_result(result, console, index=args.index, max_order=2)
    out = Path(args.out) if args.out else Path(Path(args.path).stem + f"-class{f.target}.png")
    parts.draw(result.to(args.index, 2), out, title=f"{name} · {args.index}")
    console.print(f"drawing written to {out}")
    if args.json:
        result.to_json(args.json)
        console.print(f"result written to {args.json}")
    if args.report:
        from ..report import render_report

        render_report(result, args.report, parts=parts)
        console.print(f"report written to {args.report}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "explain-image",
        help="explain an ImageNet classifier's class logit by image patches (EfficientNet-Lite0, offline)",
        description="Split an image into patches, remove subsets of them (blur / mean / a grey level) and find "
        "which patches and pairs of patches drive the logit of a class of EfficientNet-Lite0. PATH may be an "
        f"image file or a photo bundled with scikit-image ({', '.join(BUNDLED)}).",
    )
    p.add_argument("path", metavar="PATH", help="image file, or chelsea / coffee / … (scikit-image's photos)")
    p.add_argument(
        "--class", dest="class_", default=None, help="ImageNet class: index or name, e.g. 281 or 'tabby' (default: top)"
    )
    add_settings_args(p, "grid", help={"grid": "patch grid ROWSxCOLS (default 3x3)"})
    p.add_argument(
        "--superpixels", type=int_at_least(2), default=None, help="use about N SLIC superpixels instead of a grid"
    )
    p.add_argument("--fill", type=parse_fill, default="blur", help="blur (default), mean, or a grey level in [0, 1]")
    add_settings_args(p, "method", "budget")
    p.add_argument(
        "--index", default="FSII", type=index_name, help="interaction index to show and draw (default FSII, order ≤ 2)"
    )
    p.add_argument(  # -o/--output names the one file a command writes, as in `report` and `summarize`
        "-o", "--output", "--out", dest="out", default=None, help="PNG to write (default: <image name>-class<N>.png)"
    )
    p.add_argument("--json", default=None, help="also write the full result as JSON here")
    add_settings_args(p, "seed")
    q = p.add_argument_group("image and question together")
    q.add_argument("--question", default=None, help="explain patches and the question's words jointly")
    p.add_argument("--report", default=None, metavar="PATH", help="also write the HTML report (the image, tinted)")
    q.add_argument(
        "--answer",
        default=None,
        help="the answer whose log-probability is explained, e.g. ' coffee' (default: the model's own answer)",
    )
    q.add_argument(
        "--model",
        default="gemma-3-270m",
        help="gemma-3-270m (default: EfficientNet caption → Gemma answers) or openai:URL[#MODEL] (a served VLM)",
    )
    from .engine_args import add_engine_args

    add_engine_args(p)
    p.set_defaults(run=run)
