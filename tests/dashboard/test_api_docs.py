"""The API docs page, in headless Chromium, lists every operation of the OpenAPI document."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.dashboard.conftest import Live

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.browser

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def test_the_docs_page_shows_every_operation_of_the_openapi_document(
    live: Live, browser: WebDriver
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415 - optional dependency

    spec = httpx.get(f"{live.url}/api/v1/openapi.json", timeout=10).json()
    expected = {(m, path) for path, item in spec["paths"].items() for m in METHODS if m in item}
    assert any(method == "patch" for method, _ in expected)

    browser.get(f"{live.url}/api/v1/docs")
    deadline, shown = time.monotonic() + 20, set()
    while time.monotonic() < deadline and shown != expected:
        views = browser.find_elements(By.CSS_SELECTOR, "details[data-method]")
        shown = {(v.get_attribute("data-method"), v.get_attribute("data-path")) for v in views}
        time.sleep(0.2)
    assert shown == expected
    patch = browser.find_element(By.CSS_SELECTOR, "details[data-method='patch'] .method.patch")
    assert patch.text.lower() == "patch"
