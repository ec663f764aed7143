"""The viewer over raw HTTP: it lists results, renders them, and refuses everything outside its folder."""

import http.client

import pytest

from spectrex.report.serve import ResultServer


@pytest.fixture
def server(result_dir):
    srv = ResultServer(result_dir, port=0)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(srv, path, method="GET"):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
    conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)  # path sent verbatim
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, body


def test_binds_localhost_by_default(result_dir):
    srv = ResultServer(result_dir, port=0)
    try:
        assert srv.server_address[0] == "127.0.0.1"
    finally:
        srv.server_close()


def test_serves_on_ipv6_loopback(result_dir):
    """``--host ::1`` was "Address family for hostname not supported": the standard server binds IPv4 alone."""
    import socket

    if not socket.has_ipv6:
        pytest.skip("this Python has no IPv6")
    try:
        srv = ResultServer(result_dir, host="::1", port=0)
    except OSError as exc:  # a machine whose loopback has no IPv6 address
        pytest.skip(f"no IPv6 loopback here: {exc}")
    srv.start_background()
    try:
        assert srv.url.startswith("http://[::1]:")
        status, body = _get(srv, "/")
        assert status == 200 and "/view/xss.json" in body
    finally:
        srv.shutdown()
        srv.server_close()


def test_index_lists_results_only(server):
    status, body = _get(server, "/")
    assert status == 200
    assert "/view/xss.json" in body and "/view/sub/second.json" in body
    assert "other.json" not in body  # not a spectrex result
    assert "link.json" not in body and "linkdir" not in body  # symlinks out of the folder
    assert "<img" not in body  # the model name is escaped in the listing too


def test_view_and_raw(server):
    status, body = _get(server, "/view/sub/second.json")
    assert status == 200 and 'id="spectrex-data"' in body
    status, body = _get(server, "/raw/xss.json")
    assert status == 200 and body.startswith("{")


@pytest.mark.parametrize(
    "path",
    [
        "/view/../secret.json",
        "/raw/../secret.json",
        "/view/%2e%2e/secret.json",
        "/view/..%2fsecret.json",
        "/view/%2E%2E%2Fsecret.json",
        "/view/sub/../../secret.json",
        "/raw//etc/passwd",
        "/raw/%2fetc%2fpasswd",
        "/raw/..%5csecret.json",
        "/view/link.json",
        "/raw/link.json",
        "/raw/linkdir/secret.json",
        "/raw/xss.json%00.txt",
    ],
)
def test_refuses_paths_outside(server, path):
    status, body = _get(server, path)
    assert status in (403, 404), (path, status)
    assert "TOPSECRET" not in body and "root:" not in body


def test_missing_and_read_only(server):
    assert _get(server, "/view/nope.json")[0] == 404
    assert _get(server, "/etc/passwd")[0] == 404
    assert _get(server, "/view/xss.json", method="POST")[0] == 405
    assert _get(server, "/view/xss.json", method="DELETE")[0] == 405
