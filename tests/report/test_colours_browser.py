"""One colour convention, read from the rendered pages: red raises the output, blue lowers it — in the
notebook's HTML summary, in the report, and in the plots."""

import re

import pytest
from browser_helpers import pytestmark  # noqa: F401 - skip without chromium
from selenium.webdriver.common.by import By

from spectrex import explain
from spectrex.report.html import render_report


def _rgb(css: str) -> tuple[int, int, int]:
    return tuple(int(x) for x in re.findall(r"\d+", css)[:3])


@pytest.fixture(scope="module")
def signed_result():
    def f(masks):  # part 0 raises the output, part 1 lowers it, parts 0 and 1 reinforce
        m = masks.astype(float)
        return 2.0 * m[:, 0] - 1.5 * m[:, 1] + 0.2 * m[:, 2] - 0.3 * m[:, 0] * m[:, 1]

    return explain(f, 4, method="exact", labels=["up", "down", "bit", "none"])


def test_notebook_summary_and_report_share_one_colour_convention(signed_result, browser, tmp_path):
    page = tmp_path / "cell.html"
    page.write_text(f"<!doctype html><meta charset='utf-8'><body>{signed_result._repr_html_()}</body>")
    browser.get(page.as_uri())
    bars = {}
    for row in browser.find_elements(By.CSS_SELECTOR, ".spectrex-result table:first-of-type tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        if len(cells) == 3:
            bar = cells[2].find_element(By.TAG_NAME, "span")
            bars[cells[0].text] = _rgb(bar.value_of_css_property("background-color"))
    up, down = bars["up"], bars["down"]
    assert up[0] > up[2], f"a positive value is red in the notebook summary, got rgb{up}"
    assert down[2] > down[0], f"a negative value is blue in the notebook summary, got rgb{down}"

    report = tmp_path / "report.html"
    render_report(signed_result, report, k=10)
    browser.get(report.as_uri())
    fills = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "#top tbody tr"):
        label = " × ".join(s.text for s in row.find_elements(By.CSS_SELECTOR, ".lab"))
        rect = row.find_element(By.CSS_SELECTOR, "svg rect")
        fills[label] = _rgb(rect.value_of_css_property("fill"))
    assert fills["up"] == up and fills["down"] == down, (fills, bars)  # the very same colours

    chips = {c.text.split("\n")[0]: _rgb(c.value_of_css_property("background-color"))
             for c in browser.find_elements(By.CSS_SELECTOR, "#parts .part")}  # fmt: skip
    assert chips["up"][0] > chips["up"][2] and chips["down"][2] > chips["down"][0], chips
