"""Image parts: a grid of patches or SLIC superpixels, removed by filling them with a blur, the mean colour
or a chosen value; and a drawing of the top parts and interactions over the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..contract import check_masks
from ..errors import SpectrexError

FILLS = ("blur", "mean")
#: scikit-image's bundled photos, usable by name wherever an image path is asked for
BUNDLED = ("chelsea", "coffee", "astronaut", "rocket")


def read_image(path: str) -> np.ndarray:
    """An image file, or the name of one of scikit-image's bundled photos (``chelsea``, ``coffee``, …)."""
    try:
        import skimage.data
        import skimage.io
    except ImportError as exc:
        raise ImportError('reading images needs scikit-image: pip install "spectrex[images]"') from exc
    if not Path(path).exists() and path in BUNDLED:
        return getattr(skimage.data, path)()
    if not Path(path).is_file():
        raise FileNotFoundError(f"no image at {path!r}; pass an image file or one of: {', '.join(BUNDLED)}")
    try:
        return skimage.io.imread(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path!r} is not an image scikit-image can read ({exc}); give a PNG or JPEG file") from exc


def check_alone(parts: ImageParts) -> None:
    """Refuse an image explained on its own in fewer than two parts (beside a question's words one part is fine:
    then it says whether the image matters at all)."""
    if parts.n < 2:
        grid = parts.kind == "grid"
        cut = f"a {parts.grid[0]}×{parts.grid[1]} grid" if grid else "SLIC found 1 superpixel"
        raise SpectrexError(
            f"the image is in only 1 part ({cut}): with one part there is no interaction to find and its effect is "
            "just the model's output with and without the image; "
            + ("use a finer grid (e.g. --grid 3x3)" if grid else "ask for more superpixels (e.g. --superpixels 16)")
        )


def as_float_image(image) -> np.ndarray:
    """An ``(H, W, 3)`` float image in [0, 1] from uint8/float, grey or RGBA input."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4); got {img.shape}")
    img = img[:, :, :3]
    if np.issubdtype(img.dtype, np.integer):
        return img.astype(np.float32) / 255.0
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def grid_segments(shape: tuple[int, int], rows: int, cols: int) -> np.ndarray:
    """Label map ``(H, W)`` of a ``rows × cols`` grid; part ``r * cols + c`` is row r, column c."""
    h, w = int(shape[0]), int(shape[1])
    if not (1 <= rows <= h and 1 <= cols <= w):
        raise ValueError(
            f"a {rows}×{cols} grid does not fit an image of {h}×{w} pixels; use at most {h}×{w} cells (e.g. 4x4)"
        )
    r = np.minimum(np.arange(h) * rows // h, rows - 1)
    c = np.minimum(np.arange(w) * cols // w, cols - 1)
    return (r[:, None] * cols + c[None, :]).astype(np.int64)


def slic_segments(image, n_segments: int = 16, compactness: float = 10.0, seed: int = 0) -> np.ndarray:
    """Label map ``(H, W)`` of SLIC superpixels (scikit-image), relabelled to 0..n-1."""
    from skimage.segmentation import slic

    seg = slic(as_float_image(image), n_segments=n_segments, compactness=compactness, start_label=0)
    _, inv = np.unique(seg, return_inverse=True)
    return inv.reshape(seg.shape).astype(np.int64)


class ImageParts:
    """An image split into ``n`` parts; :meth:`compose` renders masks as images.

    Parameters
    ----------
    image : array (H, W[, 3])
        uint8 or float in [0, 1].
    grid : (rows, cols), optional
        Split into a grid of patches (default ``(4, 4)`` unless ``superpixels`` is given).
    superpixels : int, optional
        Split into about this many SLIC superpixels instead of a grid.
    fill : "blur", "mean" or a colour, default "blur"
        What replaces a removed part: a strongly blurred copy of the image, the image's mean colour,
        or a constant (a float in [0, 1] or an RGB triple).
    blur_sigma : float, optional
        Gaussian sigma of the blur in pixels (default: 1/10 of the shorter side).
    compactness : float, default 10
        SLIC's colour/space trade-off: higher = more square superpixels. ``superpixels`` is a hint; SLIC
        may return fewer segments (merging disconnected pieces).
    """

    def __init__(
        self, image, grid=None, superpixels: int | None = None, fill="blur", blur_sigma=None, compactness: float = 10.0
    ) -> None:
        self.image = as_float_image(image)
        h, w = self.image.shape[:2]
        if superpixels is not None and grid is not None:
            raise ValueError("pass either grid=(rows, cols) or superpixels=N, not both")
        if superpixels is not None:
            self.segments = slic_segments(self.image, superpixels, compactness)
            self.kind = "superpixels"
        else:
            rows, cols = (4, 4) if grid is None else (int(grid[0]), int(grid[1]))
            self.segments = grid_segments((h, w), rows, cols)
            self.kind, self.grid = "grid", (rows, cols)
        self.n = int(self.segments.max()) + 1
        if self.kind == "grid":
            self.labels = [f"r{i // self.grid[1]}c{i % self.grid[1]}" for i in range(self.n)]
        else:
            self.labels = [f"sp{i}" for i in range(self.n)]
        self.fill_image = self._fill(fill, blur_sigma)

    def _fill(self, fill, blur_sigma) -> np.ndarray:
        h, w = self.image.shape[:2]
        if isinstance(fill, str):
            if fill == "mean":
                return np.broadcast_to(self.image.mean(axis=(0, 1)), self.image.shape).astype(np.float32)
            if fill == "blur":
                from skimage.filters import gaussian

                sigma = blur_sigma if blur_sigma is not None else min(h, w) / 10
                return gaussian(self.image, sigma=sigma, channel_axis=-1).astype(np.float32)
            raise ValueError(f"fill must be 'blur', 'mean' or a colour value; got {fill!r}")
        value = np.asarray(fill, dtype=np.float32).reshape(-1)
        if value.size not in (1, 3):
            raise ValueError(f"a fill colour is one float or an RGB triple; got {fill!r}")
        if not np.all(np.isfinite(value)) or value.min() < 0 or value.max() > 1:
            raise ValueError(f"a fill colour takes values in [0, 1] (0 black, 1 white); got {fill!r}")
        return np.broadcast_to(np.resize(value, 3), self.image.shape).astype(np.float32)

    def digest(self) -> dict[str, str]:
        """Hashes of the pixels, the part map and the fill: what a value function's fingerprint needs."""
        import hashlib

        arrays = {"image": self.image, "segments": self.segments, "fill": self.fill_image}
        return {k: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() for k, a in arrays.items()}

    def compose(self, masks) -> np.ndarray:
        """Images ``(q, H, W, 3)`` float32 with the removed parts filled."""
        masks = check_masks(masks, self.n)
        keep = masks[:, self.segments]  # (q, H, W)
        return np.where(keep[..., None], self.image[None], self.fill_image[None])

    def centers(self) -> np.ndarray:
        """``(n, 2)`` (row, col) centroid of each part in pixels."""
        rr, cc = np.indices(self.segments.shape)
        counts = np.bincount(self.segments.ravel(), minlength=self.n)
        r = np.bincount(self.segments.ravel(), rr.ravel(), minlength=self.n) / counts
        c = np.bincount(self.segments.ravel(), cc.ravel(), minlength=self.n) / counts
        return np.stack([r, c], axis=1)

    def draw(self, result, path: str | Path | None = None, k: int = 5, k_pairs: int = 5, title: str | None = None):
        """Draw first-order values as a heat map over the image, and the top pair interactions as lines.

        ``result`` is an :class:`~spectrex.Interactions` over these parts (any index: its order-1 and
        order-2 terms are drawn; convert first, e.g. ``result.to("FSII", 2)``). Red = raises the value,
        blue = lowers it; the ``k`` strongest parts are outlined and numbered. Returns the figure, and
        writes a PNG when ``path`` is given.
        """
        import matplotlib

        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from skimage.segmentation import find_boundaries

        if result.n != self.n:
            raise ValueError(f"the result has {result.n} parts but the image has {self.n}")
        first = result.first_order()
        heat = first[self.segments]
        lim = float(np.abs(first).max()) or 1.0
        fig, axes = plt.subplots(1, 2, figsize=(11, 5))
        axes[0].imshow(self.image)
        axes[0].set_title("image")
        ax = axes[1]
        ax.imshow(self.image.mean(axis=2), cmap="gray", alpha=1.0)
        im = ax.imshow(heat, cmap="bwr", vmin=-lim, vmax=lim, alpha=0.55)
        ax.contour(find_boundaries(self.segments), levels=[0.5], colors="k", linewidths=0.3)
        centers = self.centers()
        for rank, term in enumerate(result.top(k, order=1), start=1):
            (i,) = term.parts
            ax.contour(self.segments == i, levels=[0.5], colors="yellow", linewidths=1.5)
            ax.text(centers[i, 1], centers[i, 0], str(rank), color="yellow", ha="center", va="center", weight="bold")
        pairs = result.top(k_pairs, order=2)
        pmax = max([abs(t.value) for t in pairs] + [1e-300])
        for term in pairs:
            i, j = term.parts
            colour = "red" if term.value > 0 else "blue"
            ax.plot(
                [centers[i, 1], centers[j, 1]],
                [centers[i, 0], centers[j, 0]],
                color=colour,
                linewidth=1 + 4 * abs(term.value) / pmax,
                alpha=0.8,
            )
        ax.set_title(title or f"{result.index}: parts (colour) and top pairs (lines)")
        fig.colorbar(im, ax=ax, fraction=0.04)
        for a in axes:
            a.set_axis_off()
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig


def png_base64(image: np.ndarray) -> str:
    """A float [0, 1] (or uint8) RGB image as a base64 PNG (lossless: the server sees exactly the masked pixels)."""
    import base64
    import io

    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")
