"""The report and the viewer in a real headless browser (Debian's chromium driven by selenium).

Skipped, with the reason, when selenium, chromium or chromedriver is missing; ``.ci/run`` installs
chromium and chromium-driver with apt-get when it runs as root on Debian, so CI runs these.
"""

import numpy as np
import pytest
from browser_helpers import console_errors, no_alert, pytestmark  # noqa: F401 - shared Chromium checks
from selenium.webdriver.common.by import By  # noqa: E402

from spectrex.report.html import VIEWS, render_report
from spectrex.report.serve import ResultServer


@pytest.fixture
def report_page(tmp_path, xss_result, browser):
    path = tmp_path / "report.html"
    render_report(xss_result, path, k=10)
    browser.get_log("browser")  # drop earlier pages' messages
    browser.get(path.as_uri())
    return browser


def test_renders_without_console_errors(report_page, xss_result):
    d = report_page
    assert console_errors(d) == []
    rows = d.find_elements(By.CSS_SELECTOR, "#top tbody tr")
    # the page opens on Shapley values and the pairs' SII, as print(result) does (the raw view is Möbius)
    assert len(rows) == 10
    badges = [r.find_element(By.CSS_SELECTOR, ".badge").text for r in rows]
    assert set(badges) == {"SV", "SII"}, badges
    assert d.find_element(By.ID, "value-head").text == "SV / SII"
    assert "explained" in d.find_element(By.ID, "summary").text
    assert len(d.find_elements(By.CSS_SELECTOR, "#parts .part")) == xss_result.n
    next(b for b in d.find_elements(By.CSS_SELECTOR, "#switch button") if b.text == "Möbius").click()
    assert d.find_elements(By.CSS_SELECTOR, "#network svg circle")  # the network of the interactions drew
    summary = d.find_element(By.ID, "summary").text
    assert "exact" in summary and str(2**xss_result.n) in summary


def test_index_switch(report_page, xss_result):
    d = report_page
    buttons = d.find_elements(By.CSS_SELECTOR, "#switch button")
    assert [b.text for b in buttons] == list(VIEWS)
    for button in reversed(buttons):
        name = button.text
        button.click()
        assert d.find_element(By.TAG_NAME, "body").get_attribute("data-view") == name
        assert button.get_attribute("aria-checked") == "true"
        assert sum(b.get_attribute("aria-checked") == "true" for b in buttons) == 1
        index = VIEWS[name]
        shown = [float(c.get_attribute("data-value")) for c in d.find_elements(By.CSS_SELECTOR, "#parts .part")]
        np.testing.assert_allclose(shown, xss_result.to(index).first_order(), atol=1e-9, err_msg=name)
        first_row = d.find_element(By.CSS_SELECTOR, "#top tbody tr td:nth-child(4)").text
        order = 3 if index in ("FSII", "STII", "SII") else None  # the report's default: the transform's order, ≤ 3
        top = xss_result.to(index, order).top(1)
        if index in ("SV", "BV"):  # with the pairs' SII / BII, as print(result) shows them
            top += xss_result.to({"SV": "SII", "BV": "BII"}[index], max_order=2).top(1, order=2)
        assert float(first_row) == pytest.approx(max(top, key=lambda t: abs(t.value)).value, abs=1e-3)
    assert console_errors(d) == []


def test_xss_strings_are_inert_and_literal(report_page, payloads):
    XSS, PROMPT = payloads  # noqa: N806
    d = report_page
    for button in d.find_elements(By.CSS_SELECTOR, "#switch button"):
        button.click()
    no_alert(d)
    assert d.execute_script("return window.__pwned === undefined")
    assert d.find_elements(By.TAG_NAME, "img") == []
    assert d.find_elements(By.CSS_SELECTOR, "[onerror]") == []
    assert len(d.find_elements(By.TAG_NAME, "script")) == 2  # the data block and the page's own code
    parts = [p.get_attribute("textContent") for p in d.find_elements(By.CSS_SELECTOR, "#parts .part")]
    for i, payload in enumerate(XSS):
        assert parts[i] == payload  # the literal label (unique: no position subscript)
    in_table = {s.get_attribute("textContent") for s in d.find_elements(By.CSS_SELECTOR, "#top .lab")}
    assert in_table & set(XSS)  # payloads in the interaction table are text too
    assert d.find_element(By.ID, "input-text").get_attribute("textContent") == PROMPT
    assert d.find_element(By.ID, "title").text.startswith("</title><script>")
    assert "<img src=x" in d.find_element(By.ID, "summary").text  # the model name, shown as text
    assert console_errors(d) == []


@pytest.fixture
def viewer(result_dir):
    srv = ResultServer(result_dir, port=0)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_viewer_in_browser(viewer, browser):
    browser.get(viewer.url)
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href*='/view/']")]
    assert len(links) == 2
    browser.get_log("browser")
    browser.find_element(By.CSS_SELECTOR, "a[href='/view/xss.json']").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#top tbody tr")
    assert [e for e in console_errors(browser) if "favicon" not in e["message"]] == []
    no_alert(browser)
    for path in [
        "view/..%2fsecret.json",
        "raw/%2e%2e%2fsecret.json",
        "raw/%2e%2e/secret.json",
        "raw/link.json",
        "raw/linkdir/secret.json",
        "raw/%2fetc%2fpasswd",
    ]:
        browser.get(viewer.url + path)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "TOPSECRET" not in body and "root:" not in body, path
        assert "forbidden" in body or "not found" in body, (path, body)
