"""A local, read-only viewer of every result JSON in one folder.

``/`` lists the results; ``/view/<relative path>`` renders one as the HTML report;
``/raw/<relative path>`` returns the JSON itself. Only GET and HEAD are answered. A request
path is decoded once, then refused (403) when it is absolute, holds ``..``, a backslash or a
NUL, or resolves (symlinks followed) outside the folder; anything else missing is a 404.
In a dataset run's folder (it holds ``index.jsonl``) ``/`` shows the run's summary and ``/files`` the list.

Hardening: the ``Host`` header must name the bound address (or ``localhost``) unless the viewer
was bound to every interface — a web page cannot reach it through DNS rebinding; only spectrex
results are served, ``/raw/`` streams them in chunks under :data:`RAW_MAX_BYTES`, pages are
rendered only under :data:`VIEW_MAX_BYTES`; idle connections are closed after
``idle_timeout`` seconds; HTTP/0.9 requests (a body without headers) are refused.
"""

from __future__ import annotations

import html
import json
import os
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from .html import render_report

#: ``/raw/`` streams results up to this size, ``CHUNK`` bytes at a time; larger files are not listed
RAW_MAX_BYTES = MAX_BYTES = 1024 * 1024 * 1024
#: ``/view/`` renders results up to this size (rendering holds a few copies in memory)
VIEW_MAX_BYTES = 32 * 1024 * 1024
CHUNK = 1024 * 1024
#: results up to this size have their metadata shown in the listing
SUMMARY_MAX_BYTES = 8 * 1024 * 1024
_MARK = b"spectrex.interactions/"


def _is_result(path: Path) -> bool:
    """Whether a file looks like a spectrex result (its first 4 KiB name the format)."""
    try:
        with path.open("rb") as fh:
            return _MARK in fh.read(4096)
    except OSError:
        return False


def _results(root: Path) -> list[tuple[str, dict]]:
    """``(relative path, summary)`` of each spectrex result under ``root`` (not following symlinks out)."""
    out = []
    for path in sorted(root.rglob("*.json")):
        try:
            real = path.resolve(strict=True)
            if not real.is_relative_to(root) or not real.is_file() or real.stat().st_size > MAX_BYTES:
                continue
            if not _is_result(real):  # cheap check before parsing whole files
                continue
            if real.stat().st_size > SUMMARY_MAX_BYTES:  # listed, but not parsed for its summary
                out.append((path.relative_to(root).as_posix(), {"model": "(large file)"}))
                continue
            doc = json.loads(real.read_text(encoding="utf-8"))
            if not isinstance(doc, dict):
                continue
        except (OSError, ValueError):
            continue
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        out.append((path.relative_to(root).as_posix(), {"n": doc.get("n"), **meta}))
    return out


class ResultHandler(BaseHTTPRequestHandler):
    """Serves the folder ``self.server.root`` (a resolved :class:`Path`)."""

    server_version = "spectrex-viewer"
    sys_version = ""

    def setup(self):
        self.timeout = getattr(self.server, "idle_timeout", 15.0)  # a silent client is dropped after this
        super().setup()

    def parse_request(self) -> bool:
        words = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n").split()
        if len(words) == 2:  # "GET /": HTTP/0.9, whose answer would be a body without headers
            self.command, self.request_version = words[0], "HTTP/1.0"  # the refusal carries its headers
            self.requestline = " ".join(words)
            self.close_connection = True
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP/0.9 is not served; use HTTP/1.0 or later")
            return False
        if not super().parse_request():
            return False
        if not self.server.host_allowed(self.headers.get("Host")):
            self.close_connection = True
            self._send(
                HTTPStatus.MISDIRECTED_REQUEST,
                "text/plain",
                b"this viewer answers only requests addressed to its own host name (localhost)\n",
            )
            return False
        return True

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    # -- routing ----------------------------------------------------------------------
    def do_HEAD(self):  # noqa: N802 - http.server's naming
        self._dispatch(head=True)

    def do_GET(self):  # noqa: N802
        self._dispatch(head=False)

    def _refuse(self):
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", b"read-only viewer: only GET and HEAD\n")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    def _dispatch(self, head: bool) -> None:
        self._head = head
        path = urlsplit(self.path).path
        if path in ("/", "/index.html", "/summary") and (self.server.root / "index.jsonl").is_file():
            from .summary import render_summary  # a dataset run's folder: its summary and sortable index

            page = render_summary(self.server.root, links="serve")
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", page.encode("utf-8"))
        if path in ("/", "/index.html", "/files"):
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", self._index().encode("utf-8"))
        for prefix, kind in (("/view/", "view"), ("/raw/", "raw")):
            if path.startswith(prefix):
                target = self._resolve(path[len(prefix) :])
                if target is None:
                    return
                if not _is_result(target):
                    return self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not a spectrex result\n")
                size = target.stat().st_size
                limit = RAW_MAX_BYTES if kind == "raw" else VIEW_MAX_BYTES
                if size > limit:
                    msg = f"{size:,} bytes is over the viewer's {limit:,}-byte limit" + (
                        "; open it with spectrex report, or fetch it from /raw/" if kind == "view" else ""
                    )
                    return self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "text/plain", msg.encode() + b"\n")
                if kind == "raw":
                    return self._stream(target, size)
                try:
                    page = render_report(target, back_link="/")
                except (ValueError, KeyError, TypeError) as exc:
                    msg = f"not a spectrex result: {exc}"
                    return self._send(HTTPStatus.UNPROCESSABLE_ENTITY, "text/plain; charset=utf-8", msg.encode())
                return self._send(HTTPStatus.OK, "text/html; charset=utf-8", page.encode("utf-8"))
        self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

    def _resolve(self, raw: str) -> Path | None:
        """The file a request names, or None after sending 403/404."""
        try:
            rel = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return None
        parts = rel.split("/")
        bad = (
            not rel
            or "\x00" in rel
            or "\\" in rel
            or rel.startswith("/")
            or os.path.isabs(rel)
            or any(p in ("..", ".") for p in parts)
            or (len(rel) > 1 and rel[1] == ":")  # a drive letter
        )
        if bad:
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"forbidden: path outside the served folder\n")
            return None
        root: Path = self.server.root
        try:
            real = (root / rel).resolve(strict=True)
        except (OSError, RuntimeError):
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return None
        if not real.is_relative_to(root):  # e.g. a symlink pointing out of the folder
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"forbidden: path outside the served folder\n")
            return None
        if not real.is_file() or real.suffix.lower() != ".json":
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return None
        return real

    # -- pages ------------------------------------------------------------------------
    def _index(self) -> str:
        rows = []
        for rel, meta in _results(self.server.root):
            link = quote(rel)
            cells = [
                f'<a href="/view/{link}">{html.escape(rel)}</a>',
                html.escape(str(meta.get("model", "—"))),
                html.escape(str(meta.get("method", "—"))),
                html.escape(str(meta.get("n", "—"))),
                html.escape(str(meta.get("queries", "—"))),
                f'<a href="/raw/{link}">json</a>',
            ]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        body = "\n".join(rows) or '<tr><td colspan="6">no spectrex results (*.json) in this folder</td></tr>'
        return _INDEX.format(root=html.escape(str(self.server.root)), rows=body, count=len(rows))

    def _headers(self, status: HTTPStatus, ctype: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        if not ctype.startswith("text/html"):  # HTML pages carry their own policy in a <meta> tag
            self.send_header("Content-Security-Policy", "default-src 'none'")
        self.end_headers()

    def _send(self, status: HTTPStatus, ctype: str, body: bytes) -> None:
        self._headers(status, ctype, len(body))
        if not getattr(self, "_head", False):
            self.wfile.write(body)

    def _stream(self, path: Path, size: int) -> None:
        """Send a file ``CHUNK`` bytes at a time (memory stays flat whatever its size)."""
        self._headers(HTTPStatus.OK, "application/json; charset=utf-8", size)
        if getattr(self, "_head", False):
            return
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                self.wfile.write(chunk)


class ResultServer(ThreadingHTTPServer):
    """:class:`ThreadingHTTPServer` bound to one folder."""

    daemon_threads = True

    def __init__(
        self,
        root: str | Path,
        host: str = "127.0.0.1",
        port: int = 8000,
        verbose: bool = False,
        idle_timeout: float = 15.0,
    ):
        if not Path(root).expanduser().exists():
            raise FileNotFoundError(f"no folder at {root}; pass the folder that holds the result JSON files")
        root = Path(root).expanduser().resolve(strict=True)
        if not root.is_dir():
            raise NotADirectoryError(f"{root} is not a folder; pass the folder that holds the result JSON files")
        self.root = root
        self.verbose = verbose
        self.idle_timeout = float(idle_timeout)
        self.bound_host = host
        if ":" in host:  # an IPv6 address (::1, ::): the standard server binds IPv4 alone
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), ResultHandler)
        except socket.gaierror as exc:  # before binding: the name is no address of this machine's
            raise ValueError(
                f"cannot serve on host {host!r} ({exc.strerror}); give an address of this machine: 127.0.0.1 "
                "(this machine only, the default) or 0.0.0.0 (every interface)"
            ) from None
        except PermissionError:
            if not 0 < port < 1024:
                raise
            raise PermissionError(
                f"port {port} is reserved for the system administrator (ports below 1024); pick a port from 1024 "
                "up, or 0 for a free one"
            ) from None

    def host_allowed(self, header: str | None) -> bool:
        """Whether a request's ``Host`` header names this viewer (any host when bound to every interface)."""
        if self.bound_host in ("", "0.0.0.0", "::"):
            return True
        if header is None:
            return True  # HTTP/1.0 clients may leave it out; browsers (the rebinding risk) always send it
        name = header.strip().lower()
        if name.startswith("["):  # [::1]:8000
            name = name[1 : name.find("]")] if "]" in name else name
        elif name.count(":") == 1:
            name, _, port = name.partition(":")
            if port and port != str(self.server_address[1]):
                return False
        return name in {"localhost", "127.0.0.1", "::1", self.bound_host.lower()}

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def start_background(self) -> threading.Thread:
        """Serve in a daemon thread (tests, notebooks); stop with :meth:`shutdown`."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


def serve(root: str | Path = ".", host: str = "127.0.0.1", port: int = 8000) -> ResultServer:
    """Create the viewer for ``root`` (call ``serve_forever()`` or ``start_background()`` on it)."""
    return ResultServer(root, host, port)


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>spectrex results</title>
<style>body{{font:15px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330}}table{{border-collapse:collapse}}
td,th{{padding:4px 12px;border-bottom:1px solid #e3e6ec;text-align:left}}.root{{color:#6b7489}}</style>
</head><body>
<h1>spectrex results</h1>
<p class="root">{count} result(s) in <code>{root}</code> (read-only)</p>
<table><thead><tr><th>file</th><th>model</th><th>method</th><th>parts</th><th>queries</th><th></th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
