"""``spectrex explain-image PATH``: which image patches (and pairs of patches) drive a class logit."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from .checks import check_output, int_at_least
from .output import print_result

BUNDLED = ("chelsea", "coffee", "astronaut", "rocket")


def read_image(path: str):
    """An image file, or the name of one of scikit-image's bundled photos (``chelsea``, ``coffee``, …)."""
    import skimage.data
    import skimage.io

    if not Path(path).exists() and path in BUNDLED:
        return getattr(skimage.data, path)()
    if not Path(path).exists():
        raise FileNotFoundError(f"no image at {path!r}; pass an image file or one of: {', '.join(BUNDLED)}")
    return skimage.io.imread(path)


def parse_grid(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--grid takes ROWSxCOLS, e.g. 3x3; got {text!r}") from None
    if rows < 1 or cols < 1:
        raise argparse.ArgumentTypeError(f"--grid needs at least 1 row and 1 column, e.g. 3x3; got {text!r}")
    return rows, cols


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


def run(args: argparse.Namespace, console: Console) -> int:
    from ..api import explain
    from ..models.vision import ImageClassifierValue
    from ..parts.image import ImageParts

    check_output(args.out, "--out")  # before the model runs
    check_output(args.json, "--json")
    image = read_image(args.path)
    grid = None if args.superpixels else args.grid
    parts = ImageParts(image, grid=grid, superpixels=args.superpixels, fill=args.fill)
    with console.status("loading EfficientNet-Lite0"):
        f = ImageClassifierValue(parts, target=args.class_, batch_size=args.batch_size)
    top5 = f.full_logits.argsort()[::-1][:5]
    console.print(f"{parts.n} parts ({parts.kind}); top ImageNet classes: {', '.join(map(str, top5))}")
    console.print(f"explaining the logit of class {f.target} ({f.full_logits[f.target]:+.3f} on the full image)")
    result = explain(f, parts.n, method=args.method, budget=args.budget, random_state=args.seed, labels=parts.labels)
    result.metadata["target_class"] = f.target
    print_result(result.to(args.index, 2), console)
    out = Path(args.out) if args.out else Path(Path(args.path).stem + f"-class{f.target}.png")
    parts.draw(result.to(args.index, 2), out, title=f"class {f.target} · {args.index}")
    console.print(f"drawing written to {out}")
    if args.json:
        result.to_json(args.json)
        console.print(f"result written to {args.json}")
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
    p.add_argument("--class", dest="class_", type=int, default=None, help="ImageNet class index (default: top class)")
    p.add_argument("--grid", type=parse_grid, default=(3, 3), help="patch grid ROWSxCOLS (default 3x3)")
    p.add_argument(
        "--superpixels", type=int_at_least(2), default=None, help="use about N SLIC superpixels instead of a grid"
    )
    p.add_argument("--fill", type=parse_fill, default="blur", help="blur (default), mean, or a grey level in [0, 1]")
    p.add_argument("--method", default="auto", help="exact, spex, proxyspex, … (default auto: exact for ≤ 10 parts)")
    p.add_argument("--budget", type=int, default=None, help="most model queries to spend")
    p.add_argument("--index", default="FSII", help="interaction index to show and draw (default FSII, order ≤ 2)")
    p.add_argument("--out", default=None, help="PNG to write (default: <image name>-class<N>.png)")
    p.add_argument("--json", default=None, help="also write the full result as JSON here")
    p.add_argument("--batch-size", type=int_at_least(1), default=32, help="images per forward pass (default 32)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)
