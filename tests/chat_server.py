"""A local OpenAI-style chat server for tests: a handler class answers, these helpers do the HTTP."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reply(handler: BaseHTTPRequestHandler, out: dict) -> None:
    """Send ``out`` as the JSON answer of ``handler``'s request."""
    data = json.dumps(out).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def first_token(token: str, logprob: float, alternatives: list[tuple[str, float]]) -> dict:
    """A chat completion of one token with its top log-probabilities (``logprobs=True``)."""
    alts = [{"token": t, "logprob": v} for t, v in alternatives]
    return {"choices": [{"logprobs": {"content": [{"token": token, "logprob": logprob, "top_logprobs": alts}]}}]}


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
