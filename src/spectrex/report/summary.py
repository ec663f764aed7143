"""What the explanations of a dataset say together, and one self-contained HTML page that shows it.

From a run folder's ``index.jsonl`` (see :mod:`spectrex.runs`):

- **recurring interactions**: each record's top-k interactions, grouped by their parts' text
  (lower-cased, surrounding punctuation dropped, so ``("not", "good.")`` and ``("Not", "good")``
  are one), with how many records have them among their top-k, that share of the records, and the
  mean value (in the run's index, Möbius by default);
- **faithfulness**: the distribution of the held-out R² over the records;
- **interactions vs first-order terms**: the share of each record's output variance over random
  masks carried by order-1 terms, by pairs, and by order ≥ 3 (Fourier energy, exact for the
  recovered function), averaged over the records — the dataset-level evidence that interactions
  matter (or that they do not).

The page follows the safety rules of :mod:`spectrex.report.html`: the data travels as escaped
JSON, the script writes it with ``textContent`` only, links are built here from file names that
cannot hold markup (and checked again in the page), and a strict Content-Security-Policy allows only
the page's own script.
"""

from __future__ import annotations

import math
import string
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .page import page

#: histogram bins of the held-out R² (values below 0 go to the first bin)
R2_BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _key(label: str) -> str:
    stripped = label.strip().strip(string.punctuation + "“”‘’«»…").lower()
    return stripped or label.strip().lower() or label


def recurring(entries: list[dict], k: int | None = None) -> list[dict]:
    """Interactions that recur among the records' top-k, grouped by their parts' text.

    Returns
    -------
    list of dict
        ``parts`` (the most frequent spelling), ``order``, ``count`` (records with it in their
        top-k), ``share`` (count / records explained), ``mean`` (its mean value where it appears),
        ``mean_abs``, ``positive`` (share of appearances with a positive value) and ``records`` (up
        to five ids), sorted by count, then by mean |value|.
    """
    ok = [e for e in entries if e.get("status") == "ok"]
    groups: dict[tuple, dict] = {}
    spellings: dict[tuple, Counter] = defaultdict(Counter)
    for e in ok:
        seen = set()
        for t in (e.get("top") or [])[: k if k is not None else None]:
            if t.get("value") is None:
                continue
            key = tuple(_key(p) for p in t["parts"])
            if key in seen:  # a record counts once per interaction (a word repeated in the text)
                continue
            seen.add(key)
            g = groups.setdefault(key, {"values": [], "records": []})
            g["values"].append(float(t["value"]))
            g["records"].append(e["id"])
            spellings[key][tuple(t["parts"])] += 1
    out = []
    for key, g in groups.items():
        vals = g["values"]
        out.append(
            {
                "parts": list(spellings[key].most_common(1)[0][0]),
                "order": len(key),
                "count": len(vals),
                "share": len(vals) / len(ok),
                "mean": sum(vals) / len(vals),
                "mean_abs": sum(abs(v) for v in vals) / len(vals),
                "positive": sum(v > 0 for v in vals) / len(vals),
                "records": g["records"][:5],
            }
        )
    out.sort(key=lambda r: (-r["count"], -r["mean_abs"], r["parts"]))
    return out


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def faithfulness_histogram(values: list[float]) -> list[dict]:
    """Counts of R² per bin of :data:`R2_BINS` (below 0 in the first bin, exactly 1 in the last)."""
    counts = [0] * (len(R2_BINS) - 1)
    for v in values:
        i = 0 if v < R2_BINS[1] else min(int((v - R2_BINS[0]) / (R2_BINS[1] - R2_BINS[0])), len(counts) - 1)
        counts[i] += 1
    return [
        {"lo": R2_BINS[i], "hi": R2_BINS[i + 1], "count": c, "label": f"{'< ' if i == 0 else ''}{R2_BINS[i + 1]:.1f}"}
        for i, c in enumerate(counts)
    ]


def summarize(source, *, k: int | None = None, top: int = 30) -> dict[str, Any]:
    """The dataset-level summary of a run folder (or of its index entries).

    Parameters
    ----------
    source : str, Path or list of dict
        A run folder, or the index entries (:func:`spectrex.runs.results.entries`).
    k : int, optional
        Consider each record's top ``k`` interactions (default: all the index holds).
    top : int, default 30
        Recurring interactions listed per table.

    Returns
    -------
    dict
        ``records`` (counts by status), ``faithfulness`` (mean, quantiles, histogram),
        ``order_share`` (mean share of the output's variance by order), ``recurring`` (order ≥ 2),
        ``recurring_single`` (order 1) and ``rows`` (one per record).
    """
    from ..runs.results import entries as read_entries

    rows = read_entries(source) if isinstance(source, (str, Path)) else list(source)
    ok = [e for e in rows if e.get("status") == "ok"]
    status = Counter(e.get("status") for e in rows)
    r2 = [float(e["faithfulness"]) for e in ok if isinstance(e.get("faithfulness"), (int, float))]
    shares = [e["order_share"] for e in ok if isinstance(e.get("order_share"), dict)]
    rec = recurring(rows, k)
    summary: dict[str, Any] = {
        "records": {
            "total": len(rows),
            "ok": status.get("ok", 0),
            "invalid": status.get("invalid", 0),
            "error": status.get("error", 0),
        },  # fmt: skip
        "faithfulness": {
            "count": len(r2),
            "mean": sum(r2) / len(r2) if r2 else None,
            "median": _quantile(r2, 0.5) if r2 else None,
            "q10": _quantile(r2, 0.1) if r2 else None,
            "q90": _quantile(r2, 0.9) if r2 else None,
            "histogram": faithfulness_histogram(r2),
        },
        "order_share": {
            "records": len(shares),
            **{
                key: (sum(s.get(key, 0.0) for s in shares) / len(shares) if shares else None)
                for key in ("1", "2", "3+")
            },
            "records_mostly_interactions": sum(1 for s in shares if s.get("2", 0) + s.get("3+", 0) > 0.5),
        },
        "index": next((e.get("index") for e in ok if e.get("index")), "Moebius"),
        "recurring": [r for r in rec if r["order"] >= 2][:top],
        "recurring_single": [r for r in rec if r["order"] == 1][:top],
        "rows": [_row(e) for e in rows],
    }
    return summary


def _row(e: dict) -> dict:
    top = (e.get("top") or [None])[0]
    share = e.get("order_share") or {}
    return {
        "id": e["id"],
        "position": e.get("position"),
        "status": e.get("status"),
        "reason": e.get("reason"),
        "label": None if e.get("label") is None else str(e.get("label")),
        "n": e.get("n"),
        "faithfulness": e.get("faithfulness"),
        "seconds": e.get("seconds"),
        "queries": e.get("queries"),
        "interactions": None if not share else share.get("2", 0.0) + share.get("3+", 0.0),
        "top": None if top is None else {"parts": top["parts"], "value": top["value"]},
    }


def _report_link(record_id: str, style: str) -> str:
    from ..runs.store import safe_name

    name = quote(safe_name(record_id))  # [A-Za-z0-9._-] only: no markup, no scheme
    return f"/view/records/{name}.json" if style == "serve" else f"reports/{name}.html"


def render_summary(source, path=None, *, links: str = "static", k: int | None = None, top: int = 30) -> str:
    """The summary page of a run folder.

    Parameters
    ----------
    source : str or Path
        The run folder.
    path : str or Path, optional
        Where to write the page.
    links : {"static", "serve"}
        Links to each record's report: ``reports/NAME.html`` next to the page (written by
        ``spectrex summarize``), or the viewer's ``/view/records/NAME.json``.
    """
    data = summarize(source, k=k, top=top)
    data["title"] = f"spectrex · {Path(source).name if isinstance(source, (str, Path)) else 'dataset'}"
    for row in data["rows"]:
        row["link"] = _report_link(row["id"], links) if row["status"] == "ok" else None
    page = render_page(data)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def render_page(data: dict[str, Any]) -> str:
    """The HTML of :func:`summarize`'s output (plus ``title`` and each row's ``link``)."""
    return page(
        title="spectrex dataset summary",
        subtitle="what the explanations of a dataset say together",
        body=_BODY,
        data_id="spectrex-summary",
        data=data,
        script=_JS_BODY,
        css=_CSS,
    )


_BODY = """<section><h2>Records</h2><table id="counts" class="kv"></table></section>
<section><h2>Faithfulness (held-out R²)</h2><div id="hist"></div><p id="r2-note" class="hint"></p></section>
<section><h2>Interactions vs first-order terms</h2><div id="shares"></div><p id="share-note" class="hint"></p></section>
<section><h2 id="rec-title">Recurring interactions (order ≥ 2)</h2>
<table id="recurring" class="grid"><thead><tr><th>parts</th><th>order</th><th>records</th><th>share</th>
<th>mean value</th><th>positive</th></tr></thead><tbody></tbody></table><p id="rec-note" class="hint"></p></section>
<section><h2 id="single-title">Recurring single parts</h2>
<table id="single" class="grid"><thead><tr><th>part</th><th>order</th><th>records</th><th>share</th>
<th>mean value</th><th>positive</th></tr></thead><tbody></tbody></table></section>
<section><h2>Every record</h2><p class="hint">click a column to sort</p>
<table id="index" class="grid"><thead><tr>
<th data-key="id" data-type="text">id</th><th data-key="status" data-type="text">status</th>
<th data-key="label" data-type="text">label</th><th data-key="n" data-type="num">parts</th>
<th data-key="faithfulness" data-type="num">R²</th><th data-key="interactions" data-type="num">order ≥ 2 share</th>
<th data-key="queries" data-type="num">queries</th><th data-key="seconds" data-type="num">seconds</th>
<th>top interaction / reason</th></tr></thead><tbody></tbody></table></section>
"""

_CSS = """
table.grid{border-collapse:collapse;width:100%}
table.grid td,table.grid th{padding:3px 8px;border-bottom:1px solid #eef0f4;text-align:left}
table.grid td.num{text-align:right;font-variant-numeric:tabular-nums}
th[data-key]{cursor:pointer;text-decoration:underline dotted}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}.hint{margin:4px 0}.status-invalid,.status-error{color:#b00020}
"""

_JS_BODY = r"""
  const fmt = (v, d) => (v === null || v === undefined) ? "—" : Number(v).toFixed(d === undefined ? 3 : d);
  const pct = (v) => (v === null || v === undefined) ? "—" : (100 * v).toFixed(1) + " %";
  // links are built by spectrex from safe file names; anything else is shown as text, never followed
  const SAFE_LINK = /^(reports\/[A-Za-z0-9._%-]+\.html|\/view\/records\/[A-Za-z0-9._%-]+\.json)$/;

  document.title = data.title;
  $("title").textContent = data.title;
  const c = data.records;
  for (const [k, v] of [["records", c.total], ["explained", c.ok], ["invalid", c.invalid], ["failed", c.error],
                        ["index of the values", data.index]]) {
    const tr = el("tr");
    tr.append(el("td", k), el("td", v));
    $("counts").append(tr);
  }

  // faithfulness histogram
  const h = data.faithfulness.histogram;
  const W = 560, H = 190, pad = 28, bw = (W - 2 * pad) / h.length;
  const maxc = Math.max(1, ...h.map((b) => b.count));
  const hs = svg("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", id: "hist-svg"});
  h.forEach((b, i) => {
    const bh = (H - 2 * pad) * b.count / maxc;
    const r = svg("rect", {x: pad + i * bw + 2, y: H - pad - bh, width: bw - 4, height: bh, fill: "#4a78e4",
      "data-count": b.count, class: "bar"});
    const tip = svg("title", {});
    tip.textContent = `R² ${b.lo.toFixed(1)}–${b.hi.toFixed(1)}: ${b.count} records`;
    r.append(tip);
    hs.append(r);
    const t = svg("text", {x: pad + (i + 0.5) * bw, y: H - pad + 14, "text-anchor": "middle"});
    t.textContent = b.label;
    hs.append(t);
    if (b.count) {
      const n = svg("text", {x: pad + (i + 0.5) * bw, y: H - pad - bh - 4, "text-anchor": "middle"});
      n.textContent = String(b.count);
      hs.append(n);
    }
  });
  $("hist").append(hs);
  const f = data.faithfulness;
  $("r2-note").textContent = f.count ? `${f.count} records: mean ${fmt(f.mean)}, median ${fmt(f.median)}, `
    + `10th–90th percentile ${fmt(f.q10)}–${fmt(f.q90)} (bins up to the value shown)` : "no held-out R² measured";

  // order shares: one stacked bar
  const s = data.order_share;
  if (s.records) {
    const parts = [["first order", s["1"], "#9aa7c0"], ["pairs", s["2"], "#e4574a"], ["order ≥ 3", s["3+"], "#8e44ad"]];
    const sw = 560, sv = svg("svg", {width: sw, height: 46, viewBox: `0 0 ${sw} 46`, role: "img", id: "share-svg"});
    let x = 0;
    for (const [name, v, col] of parts) {
      const w = sw * (v || 0);
      sv.append(svg("rect", {x: x, y: 0, width: w, height: 24, fill: col, class: "share"}));
      if (w > 60) {
        const t = svg("text", {x: x + 4, y: 40});
        t.textContent = `${name} ${pct(v)}`;
        sv.append(t);
      }
      x += w;
    }
    $("shares").append(sv);
    $("share-note").textContent = `Mean share of each output's variance over random masks, by interaction order `
      + `(${s.records} records): first order ${pct(s["1"])}, pairs ${pct(s["2"])}, order ≥ 3 ${pct(s["3+"])}; `
      + `${s.records_mostly_interactions} records are mostly interactions (order ≥ 2 > 50 %).`;
  } else $("share-note").textContent = "no explained records";

  function recTable(id, rows) {
    const body = $(id).tBodies[0];
    for (const r of rows) {
      const tr = el("tr");
      const cell = el("td");
      r.parts.forEach((p, j) => { if (j) cell.append(" × "); cell.append(el("span", p, "lab")); });
      tr.append(cell, el("td", r.order, "num"), el("td", r.count, "num"), el("td", pct(r.share), "num"),
        el("td", fmt(r.mean), "num"), el("td", pct(r.positive), "num"));
      body.append(tr);
    }
    if (!rows.length) {
      const tr = el("tr");
      const td = el("td", "none among the records' top interactions");
      td.colSpan = 6;
      tr.append(td);
      body.append(tr);
    }
  }
  for (const id of ["rec-title", "single-title"]) $(id).textContent += ` · ${data.index}`;  // the index, named
  recTable("recurring", data.recurring);
  recTable("single", data.recurring_single);
  $("rec-note").textContent = "grouped by the parts' text (case and surrounding punctuation ignored); "
    + "records: how many have it among their top interactions; mean value where it appears";

  // the index, sortable
  const rows = data.rows.slice();
  function drawIndex() {
    const body = $("index").tBodies[0];
    body.replaceChildren();
    for (const r of rows) {
      const tr = el("tr");
      tr.dataset.id = r.id;
      const idc = el("td");
      if (r.link && SAFE_LINK.test(r.link)) {
        const a = el("a", r.id);
        a.setAttribute("href", r.link);
        idc.append(a);
      } else idc.textContent = r.id;
      const what = r.status === "ok" ? (r.top ? r.top.parts.join(" × ") + "  " + fmt(r.top.value) : "") : r.reason;
      tr.append(idc, el("td", r.status, "status-" + r.status), el("td", r.label), el("td", r.n, "num"),
        el("td", fmt(r.faithfulness), "num"), el("td", pct(r.interactions), "num"), el("td", r.queries, "num"),
        el("td", fmt(r.seconds, 2), "num"), el("td", what, "lab"));
      body.append(tr);
    }
  }
  const heads = [...$("index").tHead.rows[0].cells].filter((th) => th.dataset.key);
  for (const th of heads) {
    th.addEventListener("click", () => {
      const key = th.dataset.key, num = th.dataset.type === "num";
      const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      for (const o of heads) o.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      rows.sort((a, b) => {
        const x = a[key], y = b[key];
        if (x === null || x === undefined) return 1;   // missing values last either way
        if (y === null || y === undefined) return -1;
        return dir * (num ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true}));
      });
      drawIndex();
    });
  }
  drawIndex();
"""
