"""Image records: an ImageNet classifier's class logit, explained by image patches (EfficientNet-Lite0, offline).

The model is loaded once per worker. Each record's image is read from its path (relative paths
are taken from the records file's folder, then the working directory), cut into a grid of patches
(``grid``, default 3×3; removed patches blurred), and explained like a text; its answers are
cached under a key made of the model, the class, the image's bytes and the grid.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .records import Record
from .worker import stamp

DEFAULT_GRID = (3, 3)


class ImageExplainer:
    """Explains image records with one loaded EfficientNet-Lite0."""

    def __init__(self, model_settings: dict | None, settings: dict) -> None:
        from ..models.vision import load_efficientnet_lite0

        extra = sorted(set(model_settings or {}) - {"target", "device"})
        if extra:
            raise ValueError(f"the image model takes no {', '.join(extra)} (those are for language models)")
        self.target = (model_settings or {}).get("target")
        self.device = (model_settings or {}).get("device")
        self.settings = settings
        self.model = load_efficientnet_lite0()

    def _read(self, record: Record) -> tuple[np.ndarray, bytes, str]:
        raw = record.data["image"]
        path = Path(raw).expanduser()
        base = self.settings.get("records_dir")
        if not path.is_absolute() and base and (Path(base) / path).exists():
            path = Path(base) / path
        if not path.is_file():
            raise ValueError(f"no image file at {raw!r}")
        data = path.read_bytes()
        try:
            import skimage.io

            image = skimage.io.imread(path)
        except Exception as exc:  # noqa: BLE001 - every decoder error means the same for the record
            raise ValueError(f"cannot read the image at {raw!r} ({type(exc).__name__}: {exc})") from exc
        if image.ndim == 3 and image.shape[2] == 4:
            image = image[..., :3]
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 8:
            raise ValueError(
                f"the image at {raw!r} has shape {image.shape}; an RGB or grey image of at least 8×8 is needed"
            )
        return image, data, str(path)

    def explain(self, record: Record, cache_path: Path, progress):
        from ..api import explain
        from ..engine import QueryEngine, fingerprint
        from ..models.vision import ImageClassifierValue
        from ..parts.image import ImageParts
        from ..workflows import holdout_faithfulness

        s = self.settings
        if record.kind != "image":
            raise ValueError(f"this record is {record.kind}, and efficientnet-lite0 explains images")
        image, data, where = self._read(record)
        grid = tuple(s.get("grid") or DEFAULT_GRID)
        parts = ImageParts(image, grid=grid)
        target = record.data.get("target", self.target)
        f = ImageClassifierValue(parts, model=self.model, target=None if target is None else int(target),
                                 device=self.device)  # fmt: skip
        key = (fingerprint("efficientnet-lite0", "logit", f.target, "blur", grid), fingerprint(data))
        engine = QueryEngine(batch_size=s.get("batch_size", "auto"), cache=cache_path, cache_key=key,
                             progress=progress, on_error=s.get("on_error", "raise"))  # fmt: skip
        extra = {"max_order": s["max_order"]} if s.get("max_order") is not None else {}
        t0 = time.perf_counter()
        try:
            result = explain(f, parts.n, method=s.get("method", "auto"), budget=s.get("budget"),
                             random_state=s.get("seed", 0), labels=parts.labels, engine=engine, **extra)  # fmt: skip
            # as explain_text: fresh masks, same cache
            holdout_faithfulness(result, f, engine, int(s.get("holdout", 64)), s.get("seed", 0))
        finally:
            engine.close()
        result.provenance.timings.wall_s = time.perf_counter() - t0
        result.provenance.source.input = where
        stamp(result, record, title=f"record {record.id}")
        return result
