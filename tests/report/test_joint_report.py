"""The report of a patch × word explanation, in headless Chromium: image tinted per index, badges on
cross-modal interactions, no console errors; and a screenshot for the docs when asked."""

from __future__ import annotations

import os

import pytest
from browser_helpers import console_errors, pytestmark  # noqa: F401 - shared Chromium checks

from spectrex import explain
from spectrex.parts.image import ImageParts
from spectrex.parts.joint import JointParts
from spectrex.parts.text import split_text
from spectrex.report import render_report

By = pytest.importorskip("selenium.webdriver.common.by").By


@pytest.fixture(scope="module")
def joint_page(tmp_path_factory):
    import skimage.data

    parts = JointParts(
        {
            "image": ImageParts(skimage.data.chelsea(), grid=(3, 3), fill=0.0),
            "question": split_text("what animal is it", "words"),
        }
    )

    def f(masks):  # patch r1c1 matters only with the word "animal"
        m = masks.astype(float)
        return 2.0 * m[:, 4] * m[:, 10] + 0.6 * m[:, 0] - 0.4 * m[:, 9] + 0.3 * m[:, 2] * m[:, 3]

    result = explain(f, parts.n, method="proxyspex", budget=800, random_state=0, labels=parts.labels)
    path = tmp_path_factory.mktemp("joint") / "joint.html"
    render_report(result, path, parts=parts)
    return path


def test_joint_report_draws_image_and_marks_cross_modal_pairs(joint_page, browser):
    browser.get_log("browser")
    browser.get(joint_page.as_uri())
    canvas = browser.find_element(By.ID, "image-canvas")
    assert canvas.get_attribute("data-drawn") == "SV" and int(canvas.get_attribute("width")) > 100
    # the canvas really holds the photo with a tint (not blank)
    shade = browser.execute_script(
        "const c=document.getElementById('image-canvas');"
        "const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;let s=0;"
        "for(let i=0;i<d.length;i+=4)s+=d[i];return s/(d.length/4);"
    )
    assert 20 < shade < 250
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "#switch button") if b.text == "Möbius").click()
    assert canvas.get_attribute("data-drawn") == "Moebius"  # the index switch re-tints the patches
    first = browser.find_element(By.CSS_SELECTOR, "#top tbody tr")
    assert "patch r1c1" in first.text and "word 'animal'" in first.text and "image × question" in first.text
    assert console_errors(browser) == []
    if os.environ.get("SPECTREX_SCREENSHOTS"):  # docs/: python -m pytest … with SPECTREX_SCREENSHOTS=docs
        browser.set_window_size(1200, 1100)
        browser.save_screenshot(os.path.join(os.environ["SPECTREX_SCREENSHOTS"], "report-joint.png"))
