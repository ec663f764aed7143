"""The page shell of spectrex's HTML pages (the report, the dataset summary): head, policy, base style, data.

Every page is one self-contained file: its data is embedded as inert JSON, its one script is
allowed by hash in a content-security policy that forbids everything else (no network, images
only as data URLs), and both pages share the base style below.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any

BASE_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{background:#1d2330;color:#fff;padding:14px 24px}h1{margin:0;font-size:20px}.sub{margin:2px 0 0;opacity:.7}
main{max-width:1150px;margin:0 auto;padding:8px 24px 40px}section{background:#fff;border:1px solid #e3e6ec;
border-radius:8px;padding:10px 16px;margin:14px 0}h2{font-size:15px;margin:4px 0 8px;color:#49536b;
text-transform:uppercase;letter-spacing:.04em}table.kv td{padding:2px 12px 2px 0;vertical-align:top}
table.kv td:first-child{color:#6b7489;white-space:nowrap}.hint{color:#6b7489}.lab{white-space:pre-wrap}
svg text{font:11px system-ui,sans-serif}
"""


#: DOM helpers every page script starts with (``data`` is the embedded JSON)
JS_HELPERS = r"""
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const svg = (tag, attrs) => {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  };
"""


def embed_json(data: Any) -> str:
    """JSON that is inert inside a <script> element: no ``<``, ``>`` or ``&`` survive literally."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def content_security_policy(script: str) -> str:
    """The pages' policy: only ``script`` itself runs (by its hash), no network, images only as data URLs."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'none'; form-action 'none'; base-uri 'none'"
    )


def page(
    *, title: str, subtitle: str, body: str, data_id: str, data: Any, script: str, css: str = "", before: str = ""
) -> str:
    """One HTML document: ``body`` (its sections) inside the shared shell, ``data`` embedded as
    ``<script type="application/json" id=data_id>``, and the page's one script: ``script`` run with
    ``data`` parsed and :data:`JS_HELPERS` defined.

    Pieces are joined, not formatted, so nothing inside the data or the script is ever substituted.
    """
    parse = f'  const data = JSON.parse(document.getElementById("{data_id}").textContent);\n'
    script = f'\n"use strict";\n(function () {{\n{parse}{JS_HELPERS}{script}}})();\n'
    csp = html.escape(content_security_policy(script), quote=False)  # single quotes are fine in a "…" attribute
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{BASE_CSS}{css}</style>\n</head>\n<body>\n{before}\n"
        f'<header><h1 id="title"></h1><p class="sub">{html.escape(subtitle)}</p></header>\n<main>\n'
        f"{body}</main>\n"
        f'<script type="application/json" id="{data_id}">{embed_json(data)}</script>\n'
        f"<script>{script}</script>\n</body>\n</html>\n"
    )
