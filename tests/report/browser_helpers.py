"""Headless Chromium for the browser tests (Debian's chromium driven by selenium), in one place.

Test modules use the ``browser`` fixture (conftest.py) and import ``pytestmark`` (skip, with the reason, when
selenium, chromium or chromedriver is missing) and the console/alert checks. ``.ci/run`` installs
chromium and chromium-driver with apt-get when it runs as root on Debian, so CI runs these tests.
"""

import shutil

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ["chromium", "chromium-browser", "google-chrome"]) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="headless browser tests need chromium and chromedriver (apt-get install chromium chromium-driver)",
)


def start_browser():
    """A headless Chromium driven by selenium (the ``browser`` fixture of conftest.py)."""
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    return driver


def no_alert(driver) -> bool:
    """True when no dialog opened (an injected script that ran would have opened one)."""
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    text = alert.text
    alert.dismiss()
    raise AssertionError(f"a dialog opened: {text!r}")


def console_errors(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
