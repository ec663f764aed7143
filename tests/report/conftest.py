"""Shared fixtures: a planted result whose labels and prompt carry XSS payloads."""

import pytest

from spectrex import Interactions, explain
from spectrex.synthetic import planted

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror="window.__pwned=1;alert(2)">',
    "</script><script>window.__pwned=2</script>",
    "a & b < c > d",
]
PROMPT = 'Hello <script>window.__pwned=3</script> "><img src=x onerror=alert(4)> &amp; done'


@pytest.fixture(scope="session")
def payloads():
    """``(labels, prompt)`` carrying script and markup injections."""
    return XSS, PROMPT


@pytest.fixture(scope="session")
def planted_fn():
    return planted(9, 14, 3, 5, include_empty=True)


@pytest.fixture(scope="session")
def xss_result(planted_fn):
    n = planted_fn.n
    labels = XSS + [f"word{i}" for i in range(len(XSS), n)]
    result = explain(planted_fn, n, method="exact", labels=labels)
    # hostile text in every field a page shows (the metadata is read-only: a result file could carry it)
    meta = {
        **result.metadata,
        "prompt": PROMPT,
        "model": '<img src=x onerror="window.__pwned=4">model',
        "title": "</title><script>window.__pwned=5</script>",
        "faithfulness": result.faithfulness(planted_fn),
    }
    return Interactions(result.transform, result.index, result.max_order, result.labels, meta, result.residual)


@pytest.fixture
def result_dir(tmp_path, xss_result):
    """A folder with two results, a non-result JSON, and a secret just outside it."""
    root = tmp_path / "results"
    (root / "sub").mkdir(parents=True)
    xss_result.to_json(root / "xss.json")
    xss_result.to(index="SV").to_json(root / "sub" / "second.json")
    (root / "other.json").write_text('{"hello": 1}')
    secret = tmp_path / "secret.json"
    secret.write_text('{"schema": "spectrex.interactions/1", "SECRET": "TOPSECRET"}')
    (root / "link.json").symlink_to(secret)
    (root / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the modules that use it skip, with the reason, when it is missing)."""
    from browser_helpers import start_browser

    driver = start_browser()
    yield driver
    driver.quit()
