"""Image records: an ImageNet classifier's class logit, explained by image patches (EfficientNet-Lite0, offline).

The model is loaded once per worker. Each record's image is read from its path (relative paths
are taken from the records file's folder, then the working directory), cut into a grid of patches
(``grid``, default 3×3; removed patches blurred), and explained like a text; its answers are
cached under the value function's own fingerprint (model, class, pixels, patches, fill) and the
image file's bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..settings import DEFAULT_GRID, RunSettings
from .records import Record
from .worker import stamp


class ImageExplainer:
    """Explains image records with one loaded EfficientNet-Lite0."""

    def __init__(self, model_settings: dict | None, settings: RunSettings) -> None:
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
        base = self.settings.records_dir
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
        from ..engine import fingerprint
        from ..models.vision import ImageClassifierValue
        from ..parts.image import ImageParts, check_alone
        from ..workflows import holdout_faithfulness

        s = self.settings
        if record.kind != "image":
            raise ValueError(f"this record is {record.kind}, and efficientnet-lite0 explains images")
        image, data, where = self._read(record)
        grid = s.grid or DEFAULT_GRID
        parts = ImageParts(image, grid=grid)
        check_alone(parts)
        target = record.data.get("target", self.target)
        f = ImageClassifierValue(parts, model=self.model, target=None if target is None else int(target),
                                 device=self.device)  # fmt: skip
        # the value function names the model, class, pixels, patches and fill; the file's bytes name the input
        engine = s.record_engine(cache=cache_path, cache_key=(f.fingerprint, fingerprint(data)), progress=progress)
        t0 = time.perf_counter()
        try:
            result = explain(f, parts.n, method=s.method, budget=s.budget, max_order=s.max_order,
                             random_state=s.seed, labels=parts.labels, engine=engine)  # fmt: skip
            # as explain_text: fresh masks, same cache
            holdout_faithfulness(result, f, engine, s.holdout, s.seed)
        finally:
            engine.close()
        result.provenance.timings.wall_s = time.perf_counter() - t0
        result.provenance.source.input = where
        stamp(result, record)
        return result
