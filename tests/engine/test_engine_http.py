"""Retry with backoff against a local HTTP server that fails on purpose (429, 5xx, timeouts)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest

from spectrex.engine import AsyncBackend, QueryEngine, RetryableError, RetryPolicy, ThreadBackend
from spectrex.errors import ValueFunctionError

FAST = RetryPolicy(max_retries=4, base_delay=0.005, max_delay=0.05, jitter=False)


class Server:
    """Scores masks as the number of kept parts; fails the first requests as scripted."""

    def __init__(self, script=(), poison_part=None):
        self.script = list(script)  # one entry per request, in arrival order: 429, 500, 503, "slow", None
        self.poison_part = poison_part  # masks keeping this part always get a 503
        self.lock = threading.Lock()
        self.requests = self.ok = self.active = self.peak = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                masks = np.array(body["masks"], dtype=bool)
                with server.lock:
                    server.requests += 1
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                    plan = server.script.pop(0) if server.script else None
                try:
                    if server.poison_part is not None and masks[:, server.poison_part].any():
                        plan = 503
                    if plan == "slow":
                        time.sleep(0.6)  # past the client's timeout
                        plan = None
                    if plan is not None:
                        self.send_response(plan)
                        if plan == 429:
                            self.send_header("Retry-After", "0")
                        self.end_headers()
                        return
                    data = json.dumps({"scores": masks.sum(1).tolist()}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    with server.lock:
                        server.ok += 1
                finally:
                    with server.lock:
                        server.active -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/score"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class RemoteModel:
    """A value function calling the server: raises httpx errors as they come (the engine decides)."""

    def __init__(self, url):
        self.url, self.fingerprint = url, "local-test-server"
        self.client = httpx.Client(timeout=0.3)

    def __call__(self, masks):
        r = self.client.post(self.url, json={"masks": masks.astype(int).tolist()})
        r.raise_for_status()
        return np.array(r.json()["scores"], dtype=float)


def masks(q=120, n=7, seed=0):
    return np.unique(np.random.default_rng(seed).random((q, n)) < 0.5, axis=0)


def test_threads_retry_429_5xx_and_timeouts():
    m = masks()
    with Server(script=[429, 503, "slow", 500, 502]) as server:
        backend = ThreadBackend(max_workers=3, retry=FAST)
        q = QueryEngine(batch_size=10, backend=backend).bind(RemoteModel(server.url), m.shape[1])
        np.testing.assert_array_equal(q(m), m.sum(1))
        batches = -(-len(m) // 10)
        assert server.ok == batches  # every batch answered exactly once …
        assert backend.retries == 5 and server.requests == batches + 5  # … after one retry per failure
        assert server.peak <= 3  # bounded concurrency
        assert q.stats.sent == len(m) and q.stats.dropped == 0


def test_persistent_failure_is_reported_and_nothing_answered_is_lost(tmp_path):
    m = masks(seed=1)
    poisoned = m[:, 6]
    with Server(poison_part=6) as server:
        engine = QueryEngine(batch_size=1, backend=ThreadBackend(2, retry=FAST), cache=tmp_path / "c.db")
        with pytest.raises(ValueFunctionError, match="HTTPStatusError.*503") as err:
            engine.bind(RemoteModel(server.url), 7)(m)
        assert set(err.value.rows) <= set(np.flatnonzero(poisoned))
        stored = engine.open_cache().count()
        assert stored > 0
        engine.close()
        # the server recovers: the rerun sends only what was not stored
        server.poison_part = None
        before = server.ok
        with QueryEngine(batch_size=8, backend=ThreadBackend(2, retry=FAST), cache=tmp_path / "c.db") as engine:
            q = engine.bind(RemoteModel(server.url), 7)
            np.testing.assert_array_equal(q(m), m.sum(1))
            assert q.stats.cached_disk == stored and q.stats.sent == len(m) - stored
        assert server.ok - before == -(-(len(m) - stored) // 8)


def test_async_backend_with_httpx_async_client():
    m = masks(seed=2)

    class AsyncRemote:
        fingerprint = "local-test-server"

        def __init__(self, url):
            self.url = url

        async def __call__(self, masks):
            async with httpx.AsyncClient(timeout=0.3) as client:
                r = await client.post(self.url, json={"masks": masks.astype(int).tolist()})
            if r.status_code == 429:
                raise RetryableError("rate limited", retry_after=0.0)
            r.raise_for_status()
            return np.array(r.json()["scores"], dtype=float)

    with Server(script=[429, 500, "slow"]) as server:
        backend = AsyncBackend(concurrency=4, retry=FAST)
        q = QueryEngine(batch_size=16, backend=backend).bind(AsyncRemote(server.url), m.shape[1])
        np.testing.assert_array_equal(q(m), m.sum(1))
        assert backend.retries == 3 and server.peak <= 4


def test_backoff_schedule():
    p = RetryPolicy(max_retries=5, base_delay=0.5, max_delay=4.0, jitter=False)
    assert [p.delay(k) for k in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert p.delay(0, RetryableError("slow down", retry_after=3.0)) == 3.0  # the server's wish wins …
    assert p.delay(0, RetryableError("slow down", retry_after=99.0)) == 4.0  # … up to the cap
    jittered = RetryPolicy(base_delay=1.0, jitter=True)
    assert all(0.5 <= jittered.delay(0) <= 1.0 for _ in range(50))
