"""matplotlib views of an :class:`~spectrex.Interactions` result. Each function returns a Figure.

matplotlib is imported on first use (``pip install "spectrex[report]"``) and keeps the user's
backend: matplotlib itself falls back to Agg on a machine without a display, and in Jupyter the
figure is handed to the notebook to show once, as the cell's value.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence

import numpy as np

from ..interactions import Interactions
from ..validate import check_whole
from .colours import NEGATIVE as _NEG
from .colours import POSITIVE as _POS
from .overview import display_labels


def _plt():
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('plotting needs matplotlib: pip install "spectrex[report]"') from exc
    del matplotlib
    import matplotlib.pyplot as plt

    return plt


def _done(fig):
    """In a notebook, let the returned Figure be shown once (as the cell's value), not twice."""
    from ..console import in_notebook

    if in_notebook():
        _plt().close(fig)
    return fig


def _view(result: Interactions, index: str | None, max_order: int | None = None) -> Interactions:
    return result if index is None else result.to(index, max_order)


def _short(text: str, width: int = 24) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_bars(result: Interactions, index: str | None = "SV", k: int = 20, ax=None):
    """First-order values as horizontal bars, the ``k`` largest in magnitude, largest on top."""
    plt = _plt()
    vals = _view(result, index).first_order()
    pos = np.argsort(-np.abs(vals), kind="stable")[:k][::-1]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(pos) + 1.2))
    fig = ax.figure
    ax.barh(np.arange(len(pos)), vals[pos], color=[_POS if v >= 0 else _NEG for v in vals[pos]])
    labels = display_labels(result.labels)
    ax.set_yticks(np.arange(len(pos)), [_short(labels[i]) for i in pos])
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlabel(f"{index or result.index} value")
    ax.set_title("first-order attributions")
    fig.tight_layout()
    return _done(fig)


def plot_network(result: Interactions, index: str | None = "SII", k: int = 20, max_order: int | None = None, ax=None):
    """Interaction network of the top ``k`` terms.

    Parts are nodes on a circle (coloured by their first-order value), pairwise interactions are
    edges (width ∝ |value|, red positive / blue negative) and higher orders are hyperedges drawn
    as shaded polygons through their parts. By default the Shapley interaction index up to pairs
    (nodes: Shapley values, edges: the pairs ``print(result)`` lists); ``index="Moebius"`` (with
    ``max_order``) draws every order; ``index=None`` the result's own view.
    """
    plt = _plt()
    from matplotlib.patches import Polygon

    if index == "SII" and max_order is None:
        max_order = 2  # pairs: the summary's story, readable as a network
    view = _view(result, index, max_order)
    terms = view.top(k)
    nodes = sorted({p for t in terms for p in t.parts})
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 6))
    fig = ax.figure
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"top {len(terms)} interactions ({view.index}, order ≤ {view.max_order})")
    if not nodes:
        return _done(fig)
    angle = 2 * np.pi * np.arange(len(nodes)) / len(nodes) + np.pi / 2
    xy = {p: (np.cos(a), np.sin(a)) for p, a in zip(nodes, angle)}
    scale = max(abs(t.value) for t in terms) or 1.0
    for t in sorted(terms, key=lambda t: abs(t.value)):
        c, w = (_POS if t.value >= 0 else _NEG), abs(t.value) / scale
        if len(t.parts) == 2:
            (x0, y0), (x1, y1) = xy[t.parts[0]], xy[t.parts[1]]
            ax.plot([x0, x1], [y0, y1], color=c, lw=0.8 + 6 * w, alpha=0.75, zorder=1)
        elif len(t.parts) > 2:
            pts = np.array([xy[p] for p in sorted(t.parts, key=nodes.index)])
            ax.add_patch(Polygon(pts, closed=True, fc=c, ec=c, alpha=0.08 + 0.3 * w, lw=1, zorder=0))
    labels = display_labels(result.labels)
    first = view.first_order()
    fmax = np.abs(first[nodes]).max() or 1.0
    cmap = plt.get_cmap("coolwarm")
    for p in nodes:
        x, y = xy[p]
        ax.scatter([x], [y], s=220, c=[cmap(0.5 + 0.5 * first[p] / fmax)], edgecolors="0.2", zorder=2)
        ax.annotate(
            _short(labels[p], 18),
            (x, y),
            xytext=(1.18 * x, 1.18 * y),
            ha="left" if x > 0.05 else ("right" if x < -0.05 else "center"),
            va="center",
            fontsize=9,
        )
    ax.set_xlim(-1.7, 1.7)
    ax.set_ylim(-1.4, 1.4)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=_POS, lw=3, label="pair, + (reinforce)"),
        Line2D([], [], color=_NEG, lw=3, label="pair, − (cancel)"),
        Patch(fc=_POS, alpha=0.3, label="order ≥ 3 (shaded: + red, − blue)"),
        Line2D([], [], ls="", marker="o", ms=10, mfc=cmap(0.9), mec="0.2", label="node colour: first-order value"),
    ]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=8, frameon=False)
    return _done(fig)


def plot_text(result: Interactions, index: str | None = "SV", width: float = 8.0):
    """The parts as running text, each on a background coloured by its first-order value."""
    plt = _plt()
    vals = _view(result, index).first_order()
    vmax = np.abs(vals).max() or 1.0
    cmap = plt.get_cmap("coolwarm")
    fig = plt.figure(figsize=(width, 2.0))
    renderer = fig.canvas.get_renderer()
    fig_w = fig.get_window_extent().width
    x, row, line_h, placed = 0.01, 0, 1.0, []
    for i, label in enumerate(result.labels):
        t = fig.text(
            x,
            0.5,
            label.replace("\n", "⏎"),
            va="top",
            fontsize=11,
            bbox={"boxstyle": "round,pad=0.2", "fc": cmap(0.5 + 0.5 * vals[i] / vmax), "ec": "none"},
        )
        bb = t.get_window_extent(renderer)
        step = (bb.width + 8) / fig_w
        if x + step > 0.99 and x > 0.011:  # wrap to a new line
            x, row = 0.01, row + 1
            t.set_x(x)
        placed.append((t, row))
        x += step
        line_h = max(line_h, bb.height + 10)
    # rows were counted in lines; now size the figure and place them from the top (pixels → fraction)
    bar_h = 70.0  # colour bar, its numbers and its title
    height_px = (row + 1) * line_h + bar_h + 20
    fig.set_size_inches(width, height_px / fig.dpi)
    for t, r in placed:
        t.set_y(1 - (10 + r * line_h) / height_px)
    cax = fig.add_axes((0.25, 28 / height_px, 0.5, 12 / height_px))
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-vmax, vmax))
    bar = fig.colorbar(sm, cax=cax, orientation="horizontal", ticks=[-vmax, -vmax / 2, 0, vmax / 2, vmax])
    bar.ax.set_xticklabels([f"{v:+.3g}" for v in (-vmax, -vmax / 2, 0, vmax / 2, vmax)], fontsize=8)
    cax.set_title(f"{index or result.index} value of each part", fontsize=8)
    return _done(fig)


def _segment_map(image: np.ndarray, n: int, segments=None, grid: tuple[int, int] | None = None) -> np.ndarray:
    h, w = image.shape[:2]
    if segments is not None:
        seg = np.asarray(segments)
        if seg.shape != (h, w):
            raise ValueError(f"segment map has shape {seg.shape}; the image is {(h, w)}: pass one label per pixel")
        return seg.astype(int)
    if grid is None:
        side = int(round(np.sqrt(n)))
        if side * side != n:
            raise ValueError(f"{n} parts is not a square grid; pass grid=(rows, cols) or a segment map")
        grid = (side, side)
    rows, cols = grid
    if rows * cols != n:
        raise ValueError(f"a {rows}×{cols} grid has {rows * cols} patches but the result has {n} parts")
    r = np.minimum(np.arange(h) * rows // h, rows - 1)
    c = np.minimum(np.arange(w) * cols // w, cols - 1)
    return r[:, None] * cols + c[None, :]


def plot_image(
    result: Interactions,
    image,
    *,
    segments=None,
    grid: tuple[int, int] | None = None,
    index: str | None = "SV",
    alpha: float = 0.55,
    ax=None,
):
    """The image with each part (patch or segment) tinted by its first-order value.

    Parameters
    ----------
    image : array (H, W) or (H, W, 3|4)
    segments : int array (H, W), optional
        Part index of every pixel (negative = not a part).
    grid : (rows, cols), optional
        Row-major patch grid (default: a square grid of ``n`` patches).
    """
    plt = _plt()
    img = np.asarray(image)
    seg = _segment_map(img, result.n, segments, grid)
    vals = _view(result, index).first_order()
    vmax = np.abs(vals).max() or 1.0
    heat = np.where(seg >= 0, vals[np.clip(seg, 0, result.n - 1)], np.nan)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5 * img.shape[0] / img.shape[1] + 0.4))
    fig = ax.figure
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    im = ax.imshow(heat, cmap="coolwarm", vmin=-vmax, vmax=vmax, alpha=alpha)
    ax.axis("off")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=f"{index or result.index}")
    return _done(fig)


def plot_faithfulness(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], ax=None, log_x: bool = True):
    """Faithfulness (held-out R²) against the query budget, one line per method.

    ``curves`` maps a method name to ``(budgets, r2)``.
    """
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    fig = ax.figure
    for name, (budgets, r2) in curves.items():
        ax.plot(np.asarray(budgets, float), np.asarray(r2, float), marker="o", label=str(name))
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("queries")
    ax.set_ylabel("faithfulness (held-out R²)")
    ax.set_ylim(top=1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _done(fig)


def plot_removal(curve: Mapping[str, np.ndarray], ax=None):
    """The top-r removal curve from :func:`~spectrex.report.counterfactual.removal_curve`."""
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    fig = ax.figure
    ax.plot(curve["r"], curve["predicted_change"], marker="o", label="predicted")
    if "actual_change" in curve:
        ax.plot(curve["r"], curve["actual_change"], marker="s", label="actual")
    ax.set_xlabel("parts removed (largest attribution first)")
    ax.set_ylabel("change in output")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _done(fig)


def plot_joint(
    result: Interactions, parts, image: str = "image", text: str = "question", index: str = "SII", k: int = 3
):
    """Image patches and words explained together: the image tinted by each patch's Shapley value, the
    words coloured the same way beside it, and the ``k`` strongest cross-modal pairs (``index``, order 2)
    drawn as lines from a patch to a word (solid red = reinforce, dashed blue = cancel).

    ``parts`` is the :class:`~spectrex.parts.joint.JointParts` the result was computed on.
    """
    plt = _plt()
    from matplotlib.patches import ConnectionPatch

    img_parts, img_cols, txt_cols = parts.groups[image], parts.indices(image), parts.indices(text)
    first = result.to("SV").first_order()
    vmax = np.abs(first).max() or 1.0
    cmap = plt.get_cmap("coolwarm")
    fig, (ax_i, ax_t) = plt.subplots(1, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [1, 1]})
    seg = img_parts.segments
    ax_i.imshow(img_parts.image)
    ax_i.imshow(first[img_cols][seg], cmap=cmap, vmin=-vmax, vmax=vmax, alpha=0.5)
    ax_i.axis("off")
    ax_i.set_title("image patches (Shapley value)")
    centre = {int(c): np.argwhere(seg == j).mean(axis=0)[::-1] for j, c in enumerate(img_cols)}
    ax_t.set_xlim(0, 1)
    ax_t.set_ylim(0, 1)
    ax_t.axis("off")
    ax_t.set_title("question words (Shapley value)")
    labels = parts.groups[text].labels
    spot = {}
    for j, c in enumerate(txt_cols):
        y = 0.9 - 0.8 * j / max(len(txt_cols) - 1, 1)
        ax_t.text(
            0.35,
            y,
            f"{labels[j]}  {first[c]:+.2f}",
            va="center",
            fontsize=11,
            bbox={"boxstyle": "round,pad=0.25", "fc": cmap(0.5 + 0.5 * first[c] / vmax), "ec": "none"},
        )
        spot[int(c)] = (0.33, y)
    pairs = [
        t for t in result.to(index, max_order=2).top(len(result.transform), order=2) if len(parts.spans(t.parts)) == 2
    ][:k]
    peak = max([abs(t.value) for t in pairs] + [1e-300])
    for t in pairs:
        a, b = t.parts if t.parts[0] in centre else t.parts[::-1]
        line = ConnectionPatch(
            xyA=tuple(centre[a]),
            coordsA=ax_i.transData,
            xyB=spot[b],
            coordsB=ax_t.transData,
            color=_POS if t.value > 0 else _NEG,
            lw=1 + 4 * abs(t.value) / peak,
            ls="-" if t.value > 0 else "--",
            alpha=0.8,
        )
        fig.add_artist(line)
        # the value at the line's middle (figure coordinates), on white so crossing lines stay readable
        ends = np.array([ax_i.transData.transform(centre[a]), ax_t.transData.transform(spot[b])])
        mx, my = fig.transFigure.inverted().transform(ends.mean(axis=0))
        fig.text(mx, my, f"{t.value:+.2f}", fontsize=8, ha="center", va="center", color=line.get_edgecolor(),
                 bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})  # fmt: skip
    fig.suptitle(f"top {len(pairs)} patch × word interactions ({index})", fontsize=11)
    return _done(fig)


PLOTS = {"bars": plot_bars, "network": plot_network, "text": plot_text, "image": plot_image, "joint": plot_joint}


def plot_outputs(result, index: str = "SV", total: bool = False, ax=None):
    """Heatmap of an :class:`~spectrex.Explanations`: parts (rows) × outputs (columns), e.g. input words
    against the generated tokens; red raises an output, blue lowers it (the colours of every plot).

    ``total=True`` adds the sequence's column (on the same colour scale, where it often dominates)."""
    from .outputs import outputs_overview

    plt = _plt()
    view = outputs_overview(result, index=index)
    values, outputs = view.values, view.outputs
    if not total and result.total is not None:
        values, outputs = values[:, :-1], outputs[:-1]
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.2 + 0.55 * len(outputs), 1.0 + 0.32 * len(view.parts)))
    else:
        fig = ax.figure
    peak = max(float(np.abs(values).max(initial=0.0)), 1e-12)
    img = ax.imshow(values, cmap="RdBu_r", vmin=-peak, vmax=peak, aspect="auto")
    ax.set_xticks(range(len(outputs)), [_short(o, 14) for o in outputs], rotation=60, ha="right")
    ax.set_yticks(range(len(view.parts)), [_short(p) for p in view.parts])
    ax.set_xlabel("output")
    ax.set_title(f"{index} of each part (rows) for each output (columns)")
    fig.colorbar(img, ax=ax, shrink=0.8)
    fig.tight_layout()
    return _done(fig)


def plot(result: Interactions, kind: str = "bars", **kwargs):
    """Dispatch used by ``Interactions.plot(kind=...)``."""
    if kind not in PLOTS:
        raise ValueError(f"unknown plot kind {kind!r}; choose one of: {', '.join(PLOTS)}")
    fn = PLOTS[kind]
    signature = inspect.signature(fn)
    params = dict(list(signature.parameters.items())[1:])  # after the result
    try:
        signature.bind(result, **kwargs)
    except TypeError:  # Python's message names plot_image(), not what result.plot("image") needs
        needs = [f"{name}=…" for name, p in params.items() if p.default is p.empty and name not in kwargs]
        raise TypeError(
            f"result.plot({kind!r}) "
            + (f"needs {', '.join(needs)}; " if needs else f"takes no {', '.join(sorted(set(kwargs) - set(params)))}; ")
            + f"it takes: {', '.join(params)} (see help(spectrex.report.plots.{fn.__name__}))"
        ) from None
    if "k" in kwargs:
        check_whole("k", kwargs["k"], 1)  # bars[:-3] dropped the 3 strongest parts
    return fn(result, **kwargs)
