"""Viewer hardening: Host header, only results, streamed big files under a memory cap, idle sockets, no HTTP/0.9."""

import http.client
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import spectrex
from spectrex.report.serve import ResultServer

SRC = str(Path(spectrex.__file__).resolve().parents[1])


@pytest.fixture
def server(result_dir):
    srv = ResultServer(result_dir, port=0, idle_timeout=0.5)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(srv, path, host=None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
    conn.putrequest("GET", path, skip_host=host is not None, skip_accept_encoding=True)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def test_host_header_must_name_the_viewer(server):
    port = server.server_address[1]
    for good in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost", "LOCALHOST"):
        assert _get(server, "/", host=good)[0] == 200, good
    for bad in ("evil.example", f"evil.example:{port}", f"attacker.localhost.evil:{port}", "localhost:1"):
        status, body = _get(server, "/", host=bad)
        assert status == 421 and b"own host name" in body, bad


def test_bound_to_every_interface_any_host_is_answered(result_dir):
    srv = ResultServer(result_dir, host="0.0.0.0", port=0)
    assert srv.host_allowed("my-laptop.lan:8000") and srv.host_allowed("10.0.0.2")
    srv.server_close()


def test_only_spectrex_results_are_served(server):
    status, body = _get(server, "/raw/other.json")
    assert status == 404 and b"not a spectrex result" in body
    assert _get(server, "/view/other.json")[0] == 404
    assert _get(server, "/raw/xss.json")[0] == 200


def test_idle_connections_are_closed(server):
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        t0 = time.monotonic()
        assert s.recv(100) == b""  # the server hung up on a client that sent nothing …
        assert time.monotonic() - t0 < 8  # … soon (idle_timeout 0.5 s), not never


def test_http_09_is_refused_with_headers(server):
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        s.sendall(b"GET /\r\n")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.0 505") and b"Content-Type" in reply and b"<table" not in reply


SERVE = textwrap.dedent(
    """
    import sys
    from spectrex.report.serve import ResultServer
    srv = ResultServer(sys.argv[1], port=0)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
    """
)


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read the server's memory")
def test_a_300_mb_result_is_streamed_with_server_memory_under_200_mib(tmp_path):
    big = tmp_path / "big.json"
    with big.open("w") as fh:
        fh.write('{"format": "spectrex.interactions/1", "n": 3, "labels": ["a", "b", "c"], "pad": "')
        block = "x" * (1 << 20)
        for _ in range(300):
            fh.write(block)
        fh.write('"}')
    size = big.stat().st_size
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    try:
        port = int(proc.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/")
        index = conn.getresponse().read()
        assert b"big.json" in index and b"(large file)" in index  # listed, not parsed
        conn.request("GET", "/view/big.json")
        resp = conn.getresponse()
        assert resp.status == 413 and b"spectrex report" in resp.read()
        conn.request("GET", "/raw/big.json")
        resp = conn.getresponse()
        got = 0
        while chunk := resp.read(1 << 20):
            got += len(chunk)
        assert resp.status == 200 and got == size
        conn.close()
        assert _peak_rss_mib(proc.pid) < 200
    finally:
        proc.terminate()
        proc.wait(10)
