"""The dataset summary page in headless Chromium (selenium): drawn, sortable, links work, injections inert.

Skipped, with the reason, without selenium, chromium or chromedriver (as tests/report/test_browser.py).
"""

import pytest
from browser_helpers import console_errors, no_alert, pytestmark  # noqa: F401 - shared Chromium checks
from selenium.webdriver.common.by import By  # noqa: E402
from summary_helpers import RECORDS, XSS_ID, XSS_LABEL, XSS_WORD, make_run

from spectrex.cli import main
from spectrex.report.serve import ResultServer


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = make_run(tmp_path_factory.mktemp("browser-summary"))
    assert main(["summarize", str(root)]) == 0  # writes summary.html and reports/*.html
    return root


def _ids(driver):
    return [tr.get_attribute("data-id") for tr in driver.find_elements(By.CSS_SELECTOR, "#index tbody tr")]


def _inert(driver):
    no_alert(driver)
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.find_elements(By.TAG_NAME, "img") == []
    assert driver.find_elements(By.CSS_SELECTOR, "[onerror]") == []


def test_static_summary_page(run_dir, browser):
    browser.get_log("browser")
    browser.get((run_dir / "summary.html").as_uri())
    assert console_errors(browser) == []
    _inert(browser)
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 2
    # the histogram: ten bins holding the four explained records (all at R² = 1)
    bars = browser.find_elements(By.CSS_SELECTOR, "#hist-svg rect.bar")
    assert len(bars) == 10
    counts = [int(b.get_attribute("data-count")) for b in bars]
    assert counts == [0] * 9 + [4]
    assert float(bars[-1].get_attribute("height")) > 0 and float(bars[0].get_attribute("height")) == 0
    assert len(browser.find_elements(By.CSS_SELECTOR, "#share-svg rect.share")) == 3
    # the recurring-interaction table: the planted pair first, in 3 records
    first = browser.find_element(By.CSS_SELECTOR, "#recurring tbody tr")
    cells = [td.text for td in first.find_elements(By.TAG_NAME, "td")]
    assert cells[0] == "not × good" and cells[2] == "3" and cells[4] == "-3.000"
    for title in ("rec-title", "single-title"):  # each table names the index its values are in
        assert browser.find_element(By.ID, title).get_attribute("textContent").endswith("· Moebius")
    # the index: every record, injected id, label and word shown as literal text
    assert _ids(browser) == [r["id"] for r in RECORDS]
    table = browser.find_element(By.ID, "index").text
    assert XSS_ID in table and XSS_LABEL in table and "the text is empty" in table
    singles = {s.get_attribute("textContent") for s in browser.find_elements(By.CSS_SELECTOR, "#single .lab")}
    assert XSS_WORD in singles
    # sorting by R², then by id (descending on the second click)
    head = browser.find_element(By.CSS_SELECTOR, "#index th[data-key='id']")
    head.click()
    assert head.get_attribute("aria-sort") == "ascending"
    assert _ids(browser) == [XSS_ID, "r0", "r1", "r2", "r4"]  # punctuation sorts before letters
    head.click()
    assert head.get_attribute("aria-sort") == "descending"
    assert _ids(browser) == ["r4", "r2", "r1", "r0", XSS_ID]
    browser.find_element(By.CSS_SELECTOR, "#index th[data-key='faithfulness']").click()
    assert _ids(browser)[-1] == "r4"  # the record without an R² sorts last
    browser.find_element(By.CSS_SELECTOR, "#index th[data-key='seconds']").click()
    assert len(_ids(browser)) == len(RECORDS)
    # links: one per explained record, each opening its report
    links = browser.find_elements(By.CSS_SELECTOR, "#index tbody a")
    assert len(links) == 4
    target = next(a for a in links if a.text == XSS_ID)
    target.click()
    assert browser.find_elements(By.CSS_SELECTOR, "#top tbody tr")  # the record's report drew
    assert browser.find_element(By.ID, "input-text").get_attribute("textContent") == "really good movie"
    assert console_errors(browser) == []
    _inert(browser)
    browser.find_element(By.CSS_SELECTOR, ".back a").click()  # back to the summary
    assert browser.find_elements(By.CSS_SELECTOR, "#hist-svg rect.bar")


def test_summary_in_the_viewer(run_dir, browser):
    srv = ResultServer(run_dir, port=0)
    srv.start_background()
    try:
        browser.get_log("browser")
        browser.get(srv.url)
        assert len(browser.find_elements(By.CSS_SELECTOR, "#hist-svg rect.bar")) == 10
        links = browser.find_elements(By.CSS_SELECTOR, "#index tbody a")
        assert len(links) == 4 and all("/view/records/" in a.get_attribute("href") for a in links)
        next(a for a in links if a.text == "r2").click()
        labels = {s.get_attribute("textContent") for s in browser.find_elements(By.CSS_SELECTOR, "#parts .part")}
        assert XSS_WORD in labels  # the injected word is a literal part label (unique: no index)
        assert console_errors(browser) == []
        _inert(browser)
        browser.get(srv.url + "files")
        assert browser.find_elements(By.CSS_SELECTOR, "a[href*='/view/records/']")
    finally:
        srv.shutdown()
        srv.server_close()
