"""One self-contained HTML file per result: no network, no CDN, inline CSS/JS/SVG.

Safety: every string that came from the input or the model (labels, prompt, model name, any
metadata) travels only inside a ``<script type="application/json">`` block in which ``<``, ``>``
and ``&`` are written as ``\\u003c`` etc., so it can neither close the block nor open a tag; the
page's script reads it with ``JSON.parse`` and puts it on the page with ``textContent`` only.
A Content-Security-Policy allows only the page's own script (by hash) and no network at all,
so even an injected inline handler would not run.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ResourceError
from ..interactions import Interactions, parse_result
from ..validate import check_whole
from .colours import NEGATIVE, POSITIVE
from .overview import PAIR_INDEX, rounding_level
from .page import page

# the index switch: label shown → canonical index name
VIEWS: dict[str, str] = {
    "Shapley": "SV",
    "SII": "SII",
    "Banzhaf": "BV",
    "FSII": "FSII",
    "STII": "STII",
    "Möbius": "Moebius",
    "Fourier": "Fourier",
}
_DEFAULT_VIEW = {v: k for k, v in VIEWS.items()}
# metadata keys that may carry the input text
_INPUT_KEYS = ("input", "prompt", "text")


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _view(result: Interactions, index: str, max_order: int, k: int) -> dict[str, Any]:
    order = None if index in ("SV", "BV") else (None if index in ("Moebius", "Fourier") else max_order)
    try:
        view = result.to(index, order)
    except ResourceError as exc:  # a dense high-order transform: say so in the page instead of failing
        return {"index": index, "error": str(exc), "first": [0.0] * result.n, "top": []}
    top = view.top(k)
    pair_index = PAIR_INDEX.get(index) if result.n >= 2 and (result.transform.max_order or 0) >= 2 else None
    views = {view.index: view}
    if pair_index:  # as print(result) does: each part's value, then the pairs' interaction index
        views[pair_index] = result.to(pair_index, max_order=2)
        tiny = rounding_level(view.first_order(), view.baseline)
        pairs = [t for t in views[pair_index].top(k, order=2) if abs(t.value) > tiny]  # as print(result): no round-off
        top = sorted(top + pairs, key=lambda t: -abs(t.value))[:k]
    return {
        "index": view.index,
        "pair_index": pair_index,
        "max_order": 2 if pair_index else view.max_order,
        "first": [_finite(v) for v in view.first_order().tolist()],
        "top": [
            {
                "parts": list(t.parts),
                "value": _finite(t.value),
                "index": t.index,
                "se": _finite(views.get(t.index, view).std_error(t.parts)),  # each row's error from its own view
            }
            for t in top
        ],
        "baseline": _finite(view.baseline),
    }


def _budget(meta: dict) -> str | None:
    """The budget as given, or the method's default with the queries it planned."""
    budget, planned = meta.get("budget"), meta.get("queries_planned")
    if isinstance(budget, int):
        return f"{budget:,}"
    if isinstance(planned, int):
        return f"the method's default ({planned:,} queries planned)"
    return None


def _plain_meta(meta: dict) -> list[list[str]]:
    """Flatten metadata to ``[key, text]`` rows (nested dicts as ``a.b``)."""
    rows: list[list[str]] = []

    def walk(prefix: str, obj) -> None:
        if isinstance(obj, dict):
            for key, val in obj.items():
                walk(f"{prefix}.{key}" if prefix else str(key), val)
        elif isinstance(obj, float):
            rows.append([prefix, f"{obj:.6g}"])
        elif isinstance(obj, (list, tuple)) and len(obj) > 20:
            rows.append([prefix, f"[{len(obj)} items]"])
        else:
            rows.append([prefix, obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, default=str)])

    walk("", meta)
    return rows


def image_data(parts, n: int, max_side: int = 96) -> dict[str, Any]:
    """The image of ``parts`` (ImageParts, or JointParts with an ImageParts group) for the page.

    A PNG (data URL) and a label map downsampled to ``max_side`` pixels whose entries are the parts'
    columns in the result (−1 outside any part), so the page tints patches by any index view; with
    joint parts, ``modality`` names each column's group (to mark patch × word interactions).
    """
    from ..parts.image import png_base64

    groups = getattr(parts, "groups", None)
    if groups is None:
        image, offset, modality = parts, 0, None
    else:
        name = next((g for g, p in groups.items() if hasattr(p, "segments")), None)
        if name is None:
            raise ValueError("these joint parts have no image group to draw")
        image, offset, modality = groups[name], parts.slices[name].start, list(parts.modality)
    h, w = image.segments.shape
    step = max(1, -(-max(h, w) // max_side))
    seg = image.segments[::step, ::step] + offset
    if int(seg.max()) >= n:
        raise ValueError(f"the image has parts up to column {int(seg.max())} but the result has {n} parts")
    return {"png": "data:image/png;base64," + png_base64(image.image), "segments": seg.tolist(), "modality": modality}


def report_data(
    result: Interactions,
    *,
    k: int = 20,
    max_order: int | None = None,
    counterfactual_k: int | None = 3,
    parts=None,
) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-friendly data (each index view precomputed).

    ``parts`` (ImageParts or JointParts) adds the image, tinted by each view's first-order values.
    """
    check_whole("max_order", max_order, 1, optional=True)  # int("2") and max(1, 0) took what the CLI refuses
    check_whole("counterfactual_k", counterfactual_k, 0, optional=True)
    tmax = max(result.transform.max_order, 1)
    order = min(tmax, 3) if max_order is None else int(max_order)
    meta = result.metadata
    text = next((meta[key] for key in _INPUT_KEYS if isinstance(meta.get(key), str)), None)
    from .overview import cost_summary, fit_summary, quantity

    ones = np.ones((1, result.n), bool)
    model_full = meta.get("full_value")  # the model's own answer on the full input, when it was asked
    summary = {
        "explained": quantity(meta),
        "model": meta.get("model"),
        "contrast": meta.get("contrast"),
        "prompt template": meta.get("template") if meta.get("template") not in (None, "{text}") else None,
        "full input · model": _finite(float(model_full)) if isinstance(model_full, (int, float)) else None,
        "full input · explanation": _finite(float(result.predict(ones)[0])),
        "empty input · explanation": _finite(float(result.predict(~ones)[0])),
        "fit": fit_summary(result.provenance),  # the one R² row: held out, on fresh masks (or exact)
        "method": meta.get("method"),
        "budget": _budget(meta),
        "queries": cost_summary({k: meta[k] for k in ("queries", "queries_cached") if k in meta}) or None,
        "parts": result.n,
        "terms": len(result.transform),
    }
    optional = ("model", "contrast", "prompt template", "full input · model")
    summary = {key: val for key, val in summary.items() if val is not None or key not in optional}
    data: dict[str, Any] = {
        "title": str(meta.get("title") or "spectrex explanation"),
        "labels": list(result.labels),
        "input": text,
        "summary": [
            [key, "—" if val is None else (f"{val:.4g}" if isinstance(val, float) else str(val))]
            for key, val in summary.items()
        ],
        "metadata": _plain_meta({key: val for key, val in meta.items() if key not in _INPUT_KEYS}),
        "views": {name: _view(result, index, order, k) for name, index in VIEWS.items()},
        # Shapley values lead unless the result was explicitly converted to another index
        "default": "Shapley" if result.index == "Moebius" else _DEFAULT_VIEW.get(result.index, "Shapley"),
        "max_order": order,
        "colours": {"positive": POSITIVE, "negative": NEGATIVE},  # the one convention (report.colours)
    }
    if parts is not None:
        data["image"] = image_data(parts, result.n)
    if counterfactual_k and result.n and len(result.transform) <= 5000:
        from .counterfactual import counterfactual

        try:
            cf = counterfactual(result, min(int(counterfactual_k), result.n), "abs", time_limit=10.0)
            data["counterfactual"] = {**cf.to_dict(), "k": int(counterfactual_k)}
        except Exception as exc:  # noqa: BLE001 - the page still renders without this section
            data["counterfactual"] = {"error": f"{type(exc).__name__}: {exc}"}
    return data


def render(data: dict[str, Any], *, back_link: str | None = None, outputs: str = "") -> str:
    """The HTML page for :func:`report_data`'s output (``outputs``: the escaped parts × outputs section of a
    multi-output result, shown first)."""
    back = f'<p class="back"><a href="{html.escape(back_link, quote=True)}">← all results</a></p>' if back_link else ""
    back += outputs
    return page(
        title="spectrex report",
        subtitle="spectrex: interactions recovered by ablation",
        body=_BODY,
        data_id="spectrex-data",
        data=data,
        script=_JS_BODY,
        css=_CSS,
        before=back,
    )


#: the most parts a report shows, and the largest result file it reads (``spectrex report`` and the viewer)
REPORT_MAX_PARTS = 10_000
REPORT_MAX_BYTES = 256 * 1024 * 1024


def check_report_file(path: str | Path) -> None:
    """Refuse, before rendering, a file that is not a spectrex result or declares more parts than a report shows.

    The one bound of ``spectrex report`` and the viewer's ``/view/``: a small file declaring a million
    parts is refused in milliseconds, never expanded.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > REPORT_MAX_BYTES:
        raise ValueError(
            f"{path} is {size / 2**20:,.0f} MiB, over the report's {REPORT_MAX_BYTES // 2**20} MiB; "
            "load it in Python (Interactions.from_json) and report a subset"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file; pass a result written by spectrex (--json)") from None
    doc = parse_result(text, str(path))
    fmt = doc.get("schema") if isinstance(doc, dict) else None
    if fmt == "spectrex.explanations/1":  # several outputs: the parts are each output's
        items = doc.get("items")
        doc = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
        fmt = doc.get("schema")
    if not isinstance(fmt, str) or not fmt.startswith("spectrex.interactions/"):
        what = "a JSON object" if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
        raise ValueError(
            f"{path} is {what}, not a spectrex result (no 'schema': 'spectrex.interactions/…'); "
            "pass a file written by spectrex explain --json or Interactions.to_json()"
        )
    n = doc.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= REPORT_MAX_PARTS:
        raise ValueError(
            f"{path} declares n = {n!r} parts; a report shows 1 to {REPORT_MAX_PARTS:,} parts — "
            "check the file, or load it in Python (Interactions.from_json) and report its top interactions"
        )


def render_report(
    result: Interactions | str | Path,
    path: str | Path | None = None,
    *,
    k: int = 20,
    max_order: int | None = None,
    counterfactual_k: int | None = 3,
    back_link: str | None = None,
    parts=None,
) -> str:
    """Render ``result`` (an :class:`Interactions` or a result JSON file) to one HTML page.

    Parameters
    ----------
    result : Interactions, Explanations or path
    path : path, optional
        Where to write the page.
    k : int, default 20
        Interactions listed per index.
    max_order : int, optional
        Order of the FSII / STII views (default: the transform's, at most 3).
    counterfactual_k : int or None, default 3
        Also show the ≤ k removals that move the recovered function most (None: skip).
    parts : ImageParts or JointParts, optional
        Draw the image beside the parts, tinted by the selected index (image and words side by side).

    Returns
    -------
    str
        The HTML text.
    """
    from ..explanations import Explanations, read_result

    if not isinstance(result, (Interactions, Explanations)):
        check_report_file(result)
        result = read_result(Path(result))
    outputs = ""
    if isinstance(result, Explanations):  # the heatmap of every output, then the whole sequence's (or first's) report
        from .outputs import outputs_overview

        lead = result.total if result.total is not None else result.items[0]
        name = lead.metadata.get("output", "")
        outputs = (
            '<section id="outputs"><h2>Each output (parts × outputs)</h2>'
            + outputs_overview(result).html()
            + f'<p class="hint">Below: the report of output {html.escape(repr(name))}.</p></section>'
        )
        result = lead
    data = report_data(result, k=k, max_order=max_order, counterfactual_k=counterfactual_k, parts=parts)
    page = render(data, back_link=back_link, outputs=outputs)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


_BODY = """<section id="summary-section"><h2>Run</h2><table id="summary" class="kv"></table></section>
<section>
  <h2>Index</h2>
  <div id="switch" role="radiogroup" aria-label="interaction index"></div>
  <p class="hint" id="view-note"></p>
</section>
<section><h2>Input and its parts</h2>
  <p id="input-text" class="input"></p>
  <div class="joint"><div id="image-box"></div><div id="parts" class="parts"></div></div>
  <div class="legend"><span class="neg">lowers the output</span><span class="pos">raises the output</span></div>
</section>
<section><h2>Top interactions</h2><table id="top" class="top"><thead><tr>
  <th>#</th><th>parts</th><th>order</th><th id="value-head">value</th><th>± std. error</th><th></th></tr></thead>
  <tbody></tbody></table>
  <div id="network"></div>
</section>
<section id="cf-section"><h2>Counterfactual</h2><p id="cf"></p></section>
<section><h2>Metadata</h2><details><summary>all fields</summary><table id="meta" class="kv"></table></details></section>
"""

_CSS = """
#switch button{border:1px solid #b9c0cf;background:#fff;padding:5px 12px;margin:0 6px 6px 0;border-radius:16px;
cursor:pointer;font:inherit}#switch button[aria-checked=true]{background:#1d2330;color:#fff;border-color:#1d2330}
.input{white-space:pre-wrap;background:#f2f4f7;padding:8px;border-radius:6px;max-height:12em;overflow:auto}
.parts{line-height:2.1}.part{display:inline-block;padding:0 5px;margin:2px;border-radius:4px;
border:1px solid rgba(0,0,0,.08);white-space:pre-wrap}.part sub{color:#6b7489;font-size:10px;margin-left:2px}
.legend span{display:inline-block;margin-right:14px;font-size:12px;padding:0 6px;border-radius:4px}
.legend .neg{background:rgb(120,160,255)}.legend .pos{background:rgb(255,130,110)}
table.top{border-collapse:collapse;width:100%}table.top td,table.top th{padding:3px 8px;border-bottom:1px solid #eef0f4;
text-align:left}table.top td.num{text-align:right;font-variant-numeric:tabular-nums}.hint{margin:0}
.lab sub{color:#6b7489;font-size:10px;margin-left:1px}
.joint{display:flex;gap:16px;align-items:flex-start}.joint .parts{flex:1}#image-box canvas{border-radius:6px;
max-width:320px}.badge{font-size:10px;background:#eef0f4;border-radius:8px;padding:0 6px;margin-left:6px;color:#49536b}
.back{margin:8px 24px}.err{color:#b00020}
"""

#: DOM helpers shared by every page's script (text only through textContent)


_JS_BODY = r"""
  const fmt = (v) => (v === null || v === undefined) ? "—" : (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(3) : v.toFixed(4));
  const colour = (v, scale) => {
    if (!scale || v === null) return "rgb(255,255,255)";
    const t = Math.max(-1, Math.min(1, v / scale));
    if (t >= 0) return `rgb(255,${Math.round(255 - 125 * t)},${Math.round(255 - 145 * t)})`;
    return `rgb(${Math.round(255 + 135 * t)},${Math.round(255 + 95 * t)},255)`;
  };
  document.title = "spectrex · " + data.title;
  $("title").textContent = data.title;
  const kv = (table, rows) => {
    for (const [k, v] of rows) {
      const tr = el("tr");
      tr.append(el("td", k), el("td", v));
      table.append(tr);
    }
  };
  kv($("summary"), data.summary);
  kv($("meta"), data.metadata);
  if (data.input) $("input-text").textContent = data.input; else $("input-text").remove();
  const label = (i) => data.labels[i];
  const seen = {};
  data.labels.forEach((lab) => { seen[lab] = (seen[lab] || 0) + 1; });
  const repeated = (i) => seen[data.labels[i]] > 1;  // only a repeated label needs its position to be told apart

  let photo = null;
  function showImage(view, scale) {
    if (!data.image) return;
    const seg = data.image.segments, h = seg.length, w = seg[0].length;
    let canvas = $("image-canvas");
    if (!canvas) {
      canvas = el("canvas");
      canvas.id = "image-canvas";
      $("image-box").append(canvas);
    }
    const draw = () => {
      const side = 320 / Math.max(h, w);
      canvas.width = Math.round(w * side);
      canvas.height = Math.round(h * side);
      const ctx = canvas.getContext("2d");
      ctx.drawImage(photo, 0, 0, canvas.width, canvas.height);
      ctx.globalAlpha = 0.5;
      for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
        const p = seg[r][c];
        if (p < 0) continue;
        ctx.fillStyle = colour(view.first[p], scale);
        const x = Math.floor(c * side), y = Math.floor(r * side);  // edges meet exactly: no double tint
        ctx.fillRect(x, y, Math.floor((c + 1) * side) - x, Math.floor((r + 1) * side) - y);
      }
      ctx.globalAlpha = 1;
      canvas.dataset.drawn = view.index;
    };
    if (photo === null) {
      photo = new Image();
      photo.addEventListener("load", draw);
      photo.src = data.image.png;
    } else if (photo.complete) draw(); else photo.addEventListener("load", draw, {once: true});
  }

  function showParts(view) {
    const box = $("parts");
    box.replaceChildren();
    const scale = Math.max(...view.first.map((v) => Math.abs(v || 0)), 0);
    showImage(view, scale);
    data.labels.forEach((lab, i) => {
      const chip = el("span", lab, "part");
      chip.style.background = colour(view.first[i], scale);
      chip.title = `part ${i}: ${fmt(view.first[i])}`;
      chip.dataset.value = String(view.first[i]);
      if (repeated(i)) chip.append(el("sub", i));
      box.append(chip);
    });
  }

  function showTop(view) {
    const body = $("top").tBodies[0];
    body.replaceChildren();
    const scale = Math.max(...view.top.map((t) => Math.abs(t.value || 0)), 0);
    view.top.forEach((t, r) => {
      const tr = el("tr");
      const cell = el("td", null, "terms");
      t.parts.forEach((p, j) => {
        if (j) cell.append(" × ");
        const span = el("span", label(p), "lab");
        if (repeated(p)) span.append(el("sub", p));  // the index tells repeated words apart
        cell.append(span);
      });
      const mods = data.image && data.image.modality ? new Set(t.parts.map((p) => data.image.modality[p])) : null;
      if (mods && mods.size > 1) cell.append(el("span", [...mods].join(" × "), "badge"));  // cross-modal
      if (view.pair_index) cell.append(el("span", t.index, "badge"));  // SV parts and SII pairs, each named
      tr.append(el("td", r + 1), cell, el("td", t.parts.length, "num"), el("td", fmt(t.value), "num"),
        el("td", fmt(t.se), "num"));
      const td = el("td");
      const s = svg("svg", {width: 160, height: 12});
      const w = scale ? 78 * Math.abs(t.value) / scale : 0;
      s.append(svg("rect", {x: t.value >= 0 ? 80 : 80 - w, y: 1, width: w, height: 10,
        fill: t.value >= 0 ? data.colours.positive : data.colours.negative}));
      s.append(svg("line", {x1: 80, x2: 80, y1: 0, y2: 12, stroke: "#888"}));
      td.append(s);
      tr.append(td);
      body.append(tr);
    });
    showNetwork(view);
  }

  function showNetwork(view) {
    // parts of the top interactions on a circle; pairs as edges, higher orders as shaded polygons
    const box = $("network");
    box.replaceChildren();
    const terms = view.top.slice(0, 15);
    const nodes = [...new Set(terms.flatMap((t) => t.parts))].sort((a, b) => a - b);
    if (nodes.length < 2 || !terms.some((t) => t.parts.length > 1)) return;  // nothing to connect
    const W = 520, H = 360, cx = W / 2, cy = H / 2, R = 130;
    const pos = {};
    nodes.forEach((p, j) => {
      const a = 2 * Math.PI * j / nodes.length - Math.PI / 2;
      pos[p] = [cx + R * Math.cos(a), cy + R * Math.sin(a)];
    });
    const scale = Math.max(...terms.map((t) => Math.abs(t.value || 0)), 1e-300);
    const s = svg("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img"});
    for (const t of terms) {
      const c = t.value >= 0 ? data.colours.positive : data.colours.negative;
      const k = Math.abs(t.value) / scale;
      if (t.parts.length === 2) {
        const [a, b] = t.parts.map((p) => pos[p]);
        s.append(svg("line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: c, "stroke-width": 1 + 7 * k,
          "stroke-opacity": 0.75}));
      } else if (t.parts.length > 2) {
        const pts = t.parts.slice().sort((a, b) => nodes.indexOf(a) - nodes.indexOf(b)).map((p) => pos[p].join(","));
        s.append(svg("polygon", {points: pts.join(" "), fill: c, "fill-opacity": 0.08 + 0.3 * k, stroke: c,
          "stroke-opacity": 0.6}));
      }
    }
    const firstScale = Math.max(...view.first.map((v) => Math.abs(v || 0)), 0);
    for (const p of nodes) {
      const [x, y] = pos[p];
      s.append(svg("circle", {cx: x, cy: y, r: 9, fill: colour(view.first[p], firstScale), stroke: "#333"}));
      const txt = svg("text", {x: x + (x >= cx ? 12 : -12), y: y + 4, "text-anchor": x >= cx ? "start" : "end"});
      const lab = label(p);
      txt.textContent = lab.length > 18 ? lab.slice(0, 17) + "…" : lab;
      s.append(txt);
    }
    box.append(s);
  }

  function select(name) {
    const view = data.views[name];
    for (const b of $("switch").children) b.setAttribute("aria-checked", String(b.dataset.view === name));
    document.body.dataset.view = name;
    const note = $("view-note");
    note.className = view.error ? "hint err" : "hint";
    note.textContent = view.error ? view.error
      : (view.pair_index ? `${name}: parts' ${view.index} and pairs' ${view.pair_index} (as spectrex explain prints);`
        : `${name}: index ${view.index}, interactions up to order ${view.max_order};`)
      + ` part colours show its first-order values.`;
    $("value-head").textContent = view.pair_index ? `${view.index} / ${view.pair_index}` : view.index;
    showParts(view);
    showTop(view);
  }
  for (const name of Object.keys(data.views)) {
    const b = el("button", name);
    b.type = "button";
    b.dataset.view = name;
    b.setAttribute("role", "radio");
    b.addEventListener("click", () => select(name));
    $("switch").append(b);
  }
  select(data.default);

  const cf = data.counterfactual;
  if (!cf) $("cf-section").remove();
  else if (cf.error) { $("cf").textContent = "not computed: " + cf.error; $("cf").className = "err"; }
  else {
    const names = cf.labels.map((l, j) => `“${l}” (${cf.removed[j]})`).join(", ");
    let t = `Removing ${cf.removed.length ? names : "nothing"}`
      + ` moves the recovered function from ${fmt(cf.original)} to ${fmt(cf.predicted)}`
      + ` (predicted change ${fmt(cf.predicted_change)}; the largest with ≤ ${cf.k} removals`
      + (cf.solver === "enumerate" ? ", exact: every such removal evaluated)."
        : cf.optimal ? ", proved optimal by the MILP)." : ", best found within the time limit).");
    if (cf.actual_change !== null) t += ` The model's actual change: ${fmt(cf.actual_change)}.`;
    $("cf").textContent = t;
  }
"""
